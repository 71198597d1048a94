package main

// The telephony half of serve: the SIP gateway (package gateway, tier 1) adapted to the store for
// inbound calls, and the outbound send pipeline (jobs/send) adapted to the gateway for dialing.
// gateway cannot import store or jobs (ARCHITECTURE.md, dependency tiers), so the adapters live
// here, in the only package that may import both sides.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/faxseal/faxseal/api/fax"
	"github.com/faxseal/faxseal/billing"
	"github.com/faxseal/faxseal/gateway"
	"github.com/faxseal/faxseal/jobs/send"
	"github.com/faxseal/faxseal/sip"
	"github.com/faxseal/faxseal/store"
	"github.com/faxseal/faxseal/webhook"
)

// sipConfig reads the --config file (or starts from an empty one), puts the listeners on
// FAXSEAL_SIP_ADDR when the file names none, and in --dev adds the loopback trunk: the demo DIDs'
// trunk, pointing at our own listener, admitting INVITEs from 127.0.0.0/8 for any provisioned
// number, so a demo fax crosses real SIP and T.38 on 127.0.0.1 and comes back in.
func sipConfig(c *config) (*sip.Config, error) {
	cfg := &sip.Config{}
	if c.SIPConfig != "" {
		var err error
		if cfg, err = sip.LoadConfig(c.SIPConfig); err != nil {
			return nil, err
		}
	} else if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if c.SIPConfig == "" || !listensExplicitly(c.SIPConfig) {
		if _, _, err := net.SplitHostPort(c.SIPAddr); err != nil {
			return nil, fmt.Errorf("FAXSEAL_SIP_ADDR %q: %w", c.SIPAddr, err)
		}
		cfg.Listen = []sip.Listener{{Transport: "udp", Address: c.SIPAddr}, {Transport: "tcp", Address: c.SIPAddr}}
	}
	if c.Dev {
		if _, ok := trunkNamed(cfg, devTrunk); !ok {
			_, port, err := net.SplitHostPort(c.SIPAddr)
			if err != nil || port == "0" {
				return nil, fmt.Errorf("--dev needs a fixed SIP port for its loopback trunk, not %q", c.SIPAddr)
			}
			t := sip.LoopbackTrunk(net.JoinHostPort("127.0.0.1", port))
			t.Name = devTrunk
			t.AnyNumber = true
			cfg.Trunks = append(cfg.Trunks, t)
		}
	}
	// Validate again: it fills the new trunk's derived fields (and is idempotent for the rest).
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// devTrunk is the trunk name of the --dev demo DIDs (seedDev) and of the loopback trunk.
const devTrunk = "loopback"

// listensExplicitly reports whether the YAML file has a listen section (without one, LoadConfig
// fills in 0.0.0.0:5060, which FAXSEAL_SIP_ADDR replaces).
func listensExplicitly(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var top map[string]yaml.Node
	return yaml.Unmarshal(b, &top) == nil && top["listen"].Kind != 0
}

func trunkNamed(cfg *sip.Config, name string) (*sip.Trunk, bool) {
	for i := range cfg.Trunks {
		if cfg.Trunks[i].Name == name {
			return &cfg.Trunks[i], true
		}
	}
	return nil, false
}

// newGateway builds the SIP gateway (nothing is bound until its component starts): inbound calls
// are routed by store.RouteNumber and their faxes stored by store.InsertReceivedFax, whose hooks
// queue the inbound pipeline in the same transaction.
func newGateway(n *node) (*gateway.Gateway, error) {
	cfg, err := sipConfig(n.cfg)
	if err != nil {
		return nil, fmt.Errorf("SIP config: %w", err)
	}
	return gateway.New(gateway.Options{SIP: cfg, Router: routeInbound(n), Deliver: deliverInbound(n.store), Logger: n.logger})
}

// routeInbound maps a called number to its assignment. SIP answers 404 for a number that is not
// provisioned (store.ErrNotFound) and 480 for a suspended partner (store.ErrPartnerSuspended). A
// trunk takes calls only for the DIDs imported with its name, so one provider cannot reach the
// numbers of another, unless the trunk has any_number (the --dev loopback trunk).
func routeInbound(n *node) sip.Router {
	return func(ctx context.Context, trunk *sip.Trunk, number string) (any, error) {
		r, err := n.store.RouteNumber(ctx, number)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, sip.ErrUnknownNumber
		case errors.Is(err, store.ErrPartnerSuspended):
			return nil, sip.ErrSuspended
		case err != nil:
			return nil, err
		}
		if !trunk.AnyNumber && r.Trunk != trunk.Name {
			n.logger.Warn("inbound call refused: the number belongs to another trunk", "number", number,
				"trunk", trunk.Name, "number_trunk", r.Trunk)
			return nil, sip.ErrUnknownNumber
		}
		return r, nil
	}
}

// deliverInbound stores a received fax for the assignment the call was routed to.
func deliverInbound(st *store.Store) gateway.Deliver {
	return func(ctx context.Context, r gateway.Received) error {
		route, _ := r.Route.(store.Route)
		_, err := st.InsertReceivedFax(ctx, store.ReceivedFax{NumberID: route.NumberID, FromNumber: r.From, ToNumber: r.To,
			Pages: r.Pages, ReceivedAt: r.ReceivedAt, PDF: r.PDF, TIFF: r.TIFF, T30: r.T30, Partial: r.Partial})
		return err
	}
}

// readyDialer holds dial attempts until the SIP listeners are bound: River may hand out a dial job
// (queued before a restart) before the gateway component has started.
type readyDialer struct {
	send.Dialer
	ready <-chan struct{}
}

func (d readyDialer) Dial(ctx context.Context, c send.Call) send.Result {
	select {
	case <-d.ready:
	case <-ctx.Done():
		return send.Result{Outcome: send.OutcomeCanceled, Err: ctx.Err()}
	}
	return d.Dialer.Dial(ctx, c)
}

// newSend builds the outbound pipeline: POST /fax and its status and cancel routes, and the River
// worker that dials through the gateway. Events go through the inbound pipeline's webhook engine.
func newSend(n *node, dialer send.Dialer) error {
	svc, err := send.New(send.Config{Store: n.store, Events: n.inbound, Dialer: dialer, Cost: billing.Cost,
		Policy: n.cfg.Redial, Logger: n.logger.With("component", "send")})
	if err != nil {
		return err
	}
	routes, err := fax.Routes(fax.Config{Service: svc,
		Client:    webhook.NewGuardedClient(webhook.GuardOptions{AllowLoopback: n.cfg.AllowLoopback}),
		AllowHTTP: n.cfg.AllowLoopback})
	if err != nil {
		return err
	}
	n.send, n.sendRoutes = svc, routes
	return nil
}
