package gateway

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/faxseal/faxseal/g3"
	"github.com/faxseal/faxseal/sip"
)

// BenchmarkConcurrentT38 holds FAXSEAL_T38_CALLS (default 50) simultaneous real-time faxes between
// two gateways on 127.0.0.1 (A sends one page to B; B re-INVITEs to T.38 at answer) and reports how
// many arrived intact. Run with -benchtime 1x.
func BenchmarkConcurrentT38(b *testing.B) {
	n := 50
	if v, err := strconv.Atoi(os.Getenv("FAXSEAL_T38_CALLS")); err == nil && v > 0 {
		n = v
	}
	got := &received{ch: make(chan Received, n)}
	router := func(ctx context.Context, tr *sip.Trunk, number string) (any, error) { return "b", nil }
	deliver := func(ctx context.Context, r Received) error { got.ch <- r; return nil }
	mk := func(lo int, addr string) *Gateway {
		cfg := &sip.Config{Listen: []sip.Listener{{Transport: "udp", Address: "127.0.0.1:0"}}, PublicAddress: "127.0.0.1",
			Media:  sip.MediaConfig{PortMin: lo, PortMax: lo + 4*n + 10, BindAddress: "127.0.0.1"},
			Trunks: []sip.Trunk{{Name: "peer", Address: addr, InboundCIDRs: []string{"127.0.0.1/32"}}}}
		g, err := New(Options{SIP: cfg, Router: router, Deliver: deliver})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		b.Cleanup(func() { cancel(); g.Close() })
		if err := g.Start(ctx); err != nil {
			b.Fatal(err)
		}
		return g
	}
	gb := mk(50000, "127.0.0.1:9")
	ga := mk(50000+4*n+20, gb.Endpoint().Addr("udp"))
	page, _ := g3.NewPage(1728, 300, xresR8, yresFine)
	for y := 0; y < 300; y += 3 {
		for x := y % 50; x < 1728; x += 50 {
			page.Set(x, y, true)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		var wg sync.WaitGroup
		var mu sync.Mutex
		delivered := 0
		failures := map[string]int{}
		for k := 0; k < n; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := ga.Send(context.Background(), SendRequest{To: "+1555020" + strconv.Itoa(1000+k), CallerID: numA, Pages: []*g3.Page{page}})
				mu.Lock()
				if res.Delivered {
					delivered++
				} else {
					failures[res.Media.String()+" "+res.Reason+" "+res.Detail]++
				}
				mu.Unlock()
			}()
			time.Sleep(10 * time.Millisecond) // 100 calls/s ramp
		}
		wg.Wait()
		intact := 0
		deadline := time.After(20 * time.Second)
	collect:
		for intact < delivered {
			select {
			case r := <-got.ch:
				if pages, err := g3.ReadTIFF(r.TIFF); err == nil && len(pages) == 1 && pages[0].Equal(page) {
					intact++
				}
			case <-deadline:
				break collect
			}
		}
		if len(failures) > 0 {
			b.Logf("failures: %v", failures)
		}
		b.ReportMetric(float64(n), "calls")
		b.ReportMetric(float64(delivered), "delivered")
		b.ReportMetric(float64(intact), "intact")
		b.ReportMetric(time.Since(start).Seconds(), "wall-s")
	}
}
