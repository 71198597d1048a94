// Package t38 implements ITU-T T.38 fax over IP for FaxSeal: the IFP packet codec in both ASN.1
// syntaxes (T.38 Annex A: the 1998 "pre-corrigendum" syntax used for T38FaxVersion 0 and 1, and the 2002
// syntax for versions 2 and 3), the UDPTL transport codec with redundancy and parity FEC (T.38 §9.1,
// Annex C), the mapping of the SDP T38* attributes (T.38 Annex D), and the T.38 terminal transport that
// carries a t30 session's modem-level requests as paced IFP packets.
//
// Everything here is tier 0: standard library only, no goroutines, no clock, no sockets. Time is an
// input (the caller passes the current virtual or real time in), and packets go in and out as byte
// slices; the UDP socket belongs to the SIP layer.
//
// Encoding is ALIGNED basic PER (ITU-T X.691), which T.38 mandates for both IFP and UDPTL.
package t38
