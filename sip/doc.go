// Package sip is FaxSeal's SIP trunk endpoint, built on emiago/sipgo: UDP/TCP/TLS listeners,
// trunks from the YAML config (digest credentials, REGISTER, inbound source CIDRs, number
// format, T.38 policy, G.711 preference), inbound call routing, outbound calls, the audio ->
// T.38 re-INVITE (RFC 3261 §14, T.38 Annex D, fax-protocols §3.6), and the media sockets: G.711
// RTP via pion/rtp and UDPTL datagrams, on ports from a configured range.
//
// sipgo's own message package is also called sip; it is imported everywhere under the one alias
// sipmsg.
//
// # The call seam
//
// A *Call is one SIP dialog with its media. The gateway runs one goroutine per call that owns the
// T.30 session and the media transport, and selects on:
//
//	call.Events()  answered, T.38 started/refused, audio resumed, hung up (Event)
//	call.Audio()   one AudioFrame every 20 ms while the media is G.711 (fixed playout buffer)
//	call.UDPTL()   each UDPTL datagram received while the media is T.38
//
// and writes with call.WriteAudio (one 20 ms frame; the call's clock sends silence when none is
// queued, so RTP never stops: no VAD/CN) or call.WriteUDPTL (one datagram). call.RequestT38 asks
// for the switch (the result arrives as an event), call.Hangup sends BYE (or CANCEL/final
// response before answer), call.T38 returns the negotiated T.38 parameters.
//
// # Offers
//
// Inbound INVITEs with an offer are answered in the 200 (G.711, or T.38 when only an image stream
// is offered); an INVITE without SDP (delayed offer, RFC 3261 §13.2.1) gets our G.711 offer in
// the 200 and its answer is taken from the ACK (no acceptable audio there: BYE). Media packets
// are accepted only from the address the SDP names, unless that address is unspecified or
// private (NAT), when the first packet's source is latched (peerFilter).
//
// # Failure reasons of outbound calls
//
// The final response of an outbound INVITE maps to a FailureReason (see Reason):
//
//	486 Busy Here, 600 Busy Everywhere                  -> busy
//	408 Request Timeout, 480 Temporarily Unavailable,
//	487 Request Terminated (not ours), no answer in time -> no-answer
//	404 Not Found, 484 Address Incomplete, 604 Does Not
//	Exist Anywhere, and every other 4xx/5xx/6xx          -> failed
//	our context canceled (CANCEL sent)                   -> canceled
//	transport error, no response at all                  -> failed
package sip
