package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"time"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/voice"
)

// openVoice opens Teams Phone provisioning: its store beside the QoE
// data (the PostgreSQL database in production), its Graph requests on hc
// (the fleet puts its Budget under them: voice is a fleet plugin). poll,
// when positive, is how often it follows Microsoft's number operations.
func (a *app) openVoice(ctx context.Context, hc *http.Client, poll time.Duration) error {
	var err error
	if a.cfg.Mode == modeProduction {
		a.voiceStore, err = voice.OpenPostgres(ctx, a.cfg.PostgresDSN, a.migrateOpts()...)
	} else {
		a.voiceStore, err = voice.OpenSQLite(ctx, filepath.Join(a.cfg.DataDir, "tenantgate.db"), a.migrateOpts()...)
	}
	if err != nil {
		return fmt.Errorf("open the Teams Phone store: %w", err)
	}
	a.voice, err = voice.New(voice.Config{Access: a.manager, Store: a.voiceStore, HTTPClient: hc,
		Events: a.bus, Audit: a.trail, Logger: a.log, PollInterval: poll, PollMaxInterval: poll})
	if err != nil {
		return fmt.Errorf("teams Phone provisioning: %w", err)
	}
	return nil
}

// demoRanges are the demo customer's number ranges: its offices' numbers
// as the fake generates them (the country prefix and seven digits), Direct
// Routing in Milan and Seattle, Calling Plan in London with the city's
// emergency location.
func (a *app) demoRanges() []voice.Range {
	return []voice.Range{
		{Name: "Milan", From: "+39020000000", To: "+39029999999", Type: voice.DirectRouting, QuarantineDays: 30},
		{Name: "Seattle", From: "+12060000000", To: "+12069999999", Type: voice.DirectRouting, QuarantineDays: 30},
		{Name: "London", From: "+44200000000", To: "+44209999999", Type: voice.CallingPlan, QuarantineDays: 30,
			LocationID: a.tenant.EmergencyLocationID("London")},
	}
}

// seedDemoVoice gives the demo customer its ranges (unless it has some:
// a restart keeps what the user changed) and reads its inventory once
// the customer is connected.
func (a *app) seedDemoVoice(ctx context.Context) error {
	rs, err := a.voice.Ranges(ctx, a.cfg.Customer)
	if err != nil {
		return err
	}
	if len(rs) == 0 {
		if _, err := a.voice.PutRanges(ctx, a.cfg.Customer, a.demoRanges()); err != nil {
			return fmt.Errorf("demo number ranges: %w", err)
		}
	}
	a.bus.Subscribe(func(ctx context.Context, e events.Event) {
		if e.Type == events.ConnectionConnected && e.Data.Customer == a.cfg.Customer {
			if err := a.voice.RequestRefresh(ctx, e.Data.Customer); err != nil {
				a.log.Warn("queueing the demo number inventory refresh failed", "err", err.Error())
			}
		}
	})
	return nil
}
