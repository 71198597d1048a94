package sip

import (
	"context"
	"testing"
	"time"

	"github.com/faxseal/faxseal/modem/g711"
	"github.com/faxseal/faxseal/modem/tone"
)

// TestCNGTriggersReinvite: the callee's trunk says t38.reinvite: cng, so it answers G.711 and
// asks for T.38 only once it hears the caller's CNG (here: our own endpoint dialing it and
// playing modem/tone's CNG into the RTP stream).
func TestCNGTriggersReinvite(t *testing.T) {
	t.Parallel()
	// Callee.
	calleeLog := newCallLog()
	lo, hi := testMediaRange()
	callee, err := NewEndpoint(&Config{Listen: []Listener{{Transport: "udp", Address: "127.0.0.1:0"}}, PublicAddress: "127.0.0.1",
		Media:  MediaConfig{PortMin: lo, PortMax: hi, BindAddress: "127.0.0.1"},
		Trunks: []Trunk{{Name: "in", Address: "127.0.0.1:9", InboundCIDRs: []string{"127.0.0.1/32"}, T38: T38Policy{Reinvite: ReinviteCNG}}},
	}, Options{Router: testRouter, Handler: calleeLog.handler(0)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := callee.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer callee.Close()
	// Caller, with T.38 on so it accepts the callee's re-INVITE.
	lo2, hi2 := testMediaRange()
	caller, err := NewEndpoint(&Config{Listen: []Listener{{Transport: "udp", Address: "127.0.0.1:0"}}, PublicAddress: "127.0.0.1",
		Media:  MediaConfig{PortMin: lo2, PortMax: hi2, BindAddress: "127.0.0.1"},
		Trunks: []Trunk{{Name: "out", Address: callee.Addr("udp")}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := caller.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	c, err := caller.Dial(ctx, DialRequest{To: didActive, CallerID: "+15550001111"})
	if err != nil {
		t.Fatal(err)
	}
	// Two seconds of silence first: no re-INVITE may come before the tone.
	gen := tone.NewGenerator(tone.CNG)
	var pcm [FrameSamples]int16
	var frame [FrameSamples]byte
	deadline := time.After(8 * time.Second)
	started := time.Now()
	cngFrom := 2 * time.Second
	for {
		select {
		case <-c.Audio():
			if time.Since(started) >= cngFrom {
				gen.Fill(pcm[:])
			} else {
				pcm = [FrameSamples]int16{}
			}
			g711.MuLaw.Encode(frame[:], pcm[:])
			c.WriteAudio(frame[:])
		case e := <-c.Events():
			if e.Kind == EventT38Started {
				if !e.Remote || time.Since(started) < cngFrom {
					t.Fatalf("T.38 started remote=%v after %v", e.Remote, time.Since(started))
				}
				c.Hangup(ctx)
				for i := 0; i < 500 && caller.Ports().InUse()+callee.Ports().InUse() > 0; i++ {
					time.Sleep(10 * time.Millisecond)
				}
				if n := caller.Ports().InUse() + callee.Ports().InUse(); n != 0 {
					t.Fatalf("%d media ports still in use", n)
				}
				return
			}
			if e.Kind == EventHangup {
				t.Fatalf("hung up before T.38: %v", e.Err)
			}
		case <-deadline:
			t.Fatal("no T.38 re-INVITE after CNG")
		}
	}
}
