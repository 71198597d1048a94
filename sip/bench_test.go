package sip

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	sippSuccess = regexp.MustCompile(`Successful call\s+\|\s+\d+\s+\|\s+(\d+)`)
	sippFailed  = regexp.MustCompile(`Failed call\s+\|\s+\d+\s+\|\s+(\d+)`)
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkSIPpCallRate drives the real UDP listener with SIPp's uac_sigonly scenario
// (INVITE offering T.38 - 100 - 200 - ACK - BYE - 200) and reports the sustained call rate and
// the failed calls. Run with -benchtime=1x; FAXSEAL_SIPP_RATE (default 1000 calls/s) and
// FAXSEAL_SIPP_CALLS (default 10000) set the load. SIPp shares the machine's cores.
func BenchmarkSIPpCallRate(b *testing.B) {
	if _, err := exec.LookPath("sipp"); err != nil {
		b.Skip("sipp not installed")
	}
	rate, calls := envInt("FAXSEAL_SIPP_RATE", 1000), envInt("FAXSEAL_SIPP_CALLS", 10000)
	env := &testEnv{log: newCallLog(), sipp: freeUDPPort(b), mp: freeUDPPort(b), dir: b.TempDir()}
	cfg := &Config{
		Listen:        []Listener{{Transport: "udp", Address: "127.0.0.1:0"}},
		PublicAddress: "127.0.0.1",
		Media:         MediaConfig{PortMin: 40000, PortMax: 43999, BindAddress: "127.0.0.1"},
		Trunks:        []Trunk{{Name: "sipp", Address: "127.0.0.1:" + strconv.Itoa(env.sipp), InboundCIDRs: []string{"127.0.0.1/32"}}},
	}
	handler := func(c *Call, route any) {
		for e := range c.Events() {
			if e.Kind == EventHangup {
				return
			}
		}
	}
	ep, err := NewEndpoint(cfg, Options{Router: testRouter, Handler: handler})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ep.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer ep.Close()
	scen, err := os.ReadFile("../testdata/sipp/uac_sigonly.xml")
	if err != nil {
		b.Fatal(err)
	}
	path := env.dir + "/uac_sigonly.xml"
	os.WriteFile(path, scen, 0o644)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command("sipp", ep.Addr("udp"), "-sf", path, "-s", didActive, "-i", "127.0.0.1", "-p", strconv.Itoa(env.sipp),
			"-mi", "127.0.0.1", "-mp", strconv.Itoa(env.mp), "-nostdin", "-r", strconv.Itoa(rate), "-m", strconv.Itoa(calls),
			"-l", "2000", "-timeout", "120s", "-timeout_error", "-recv_timeout", "10000", "-trace_err")
		cmd.Dir = env.dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		runErr := cmd.Run()
		elapsed := time.Since(start)
		ok, failed := 0, 0
		if m := sippSuccess.FindAllStringSubmatch(out.String(), -1); len(m) > 0 {
			ok, _ = strconv.Atoi(m[len(m)-1][1])
		}
		if m := sippFailed.FindAllStringSubmatch(out.String(), -1); len(m) > 0 {
			failed, _ = strconv.Atoi(m[len(m)-1][1])
		}
		if runErr != nil && failed == 0 {
			b.Fatalf("sipp: %v\n%s", runErr, tailString(out.String(), 2000))
		}
		b.ReportMetric(float64(ok)/elapsed.Seconds(), "calls/s")
		b.ReportMetric(float64(failed), "failed")
		b.ReportMetric(float64(ok), "ok")
	}
	b.StopTimer()
	// A 2xx never ACKed holds its call for 64·T1 (RFC 3261 §13.3.1.4) before we BYE it: wait past that.
	deadline := time.Now().Add(40 * time.Second)
	for (ep.ActiveCalls() != 0 || ep.Ports().InUse() != 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := ep.Ports().InUse(); n != 0 {
		ep.mu.Lock()
		states := map[string]int{}
		for _, c := range ep.calls {
			c.mu.Lock()
			states[fmt.Sprintf("dialog=%v answered=%v ended=%v media=%v", c.uas.LoadState(), c.answered, c.ended, c.media)]++
			c.mu.Unlock()
		}
		ep.mu.Unlock()
		b.Logf("stuck calls: %v", states)
		b.Fatalf("%d media ports still in use 40 s after the run (%d calls)%s", n, ep.ActiveCalls(), summarizeSIPpErrors(env.dir))
	}
}

// summarizeSIPpErrors counts the kinds of events in SIPp's -trace_err log.
func summarizeSIPpErrors(dir string) string {
	m, _ := filepath.Glob(filepath.Join(dir, "*_errors.log"))
	counts := map[string]int{}
	for _, f := range m {
		d, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(d), "\n") {
			i := strings.Index(line, ": ")
			if i < 0 || !strings.Contains(line[:i], "2026") && !strings.Contains(line[:i], "20") {
				continue
			}
			msg := line[i+2:]
			if j := strings.Index(msg, "Call-Id"); j >= 0 {
				msg = msg[:j]
			}
			if j := strings.Index(msg, "("); j >= 0 {
				msg = msg[:j]
			}
			counts[msg]++
		}
	}
	var b strings.Builder
	for k, v := range counts {
		fmt.Fprintf(&b, "\n%6d %s", v, k)
	}
	return b.String()
}
