// Copyright 2026 The zkwatch Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

// Package webhook posts notifications as JSON documents to an HTTP
// endpoint (chat bridges, ticket systems).
package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/zkwatch/zkwatch/receiver/config"
	"github.com/zkwatch/zkwatch/receiver/notify"
	"github.com/zkwatch/zkwatch/receiver/payload"
	tmpl "github.com/zkwatch/zkwatch/receiver/template"
)

// Message is the JSON body posted per notification.
type Message struct {
	Version    string `json:"version"`
	Kind       string `json:"kind"`
	IncidentID string `json:"incidentId"`
	Status     string `json:"status"`
	Title      string `json:"title"`
	Text       string `json:"text"`
	// Alert is the message's one alert; for a grouped message, its
	// status, common labels and annotations.
	Alert payload.Alert `json:"alert"`
	// Alerts lists every alert of the message with its incident.
	Alerts      []Alert `json:"alerts"`
	ExternalURL string  `json:"externalURL,omitempty"`
}

// Alert is one alert of a Message.
type Alert struct {
	IncidentID  string        `json:"incidentId"`
	Kind        string        `json:"kind"`
	IncidentURL string        `json:"incidentURL,omitempty"`
	SilenceURL  string        `json:"silenceURL,omitempty"`
	Alert       payload.Alert `json:"alert"`
	// Maintenance is the receiver's maintenance window the alert was in
	// when it fired, if any.
	Maintenance *Maintenance `json:"maintenance,omitempty"`
}

// Maintenance is a maintenance window as a message carries it.
type Maintenance struct {
	ID        string    `json:"id"`
	EndsAt    time.Time `json:"endsAt"`
	CreatedBy string    `json:"createdBy"`
	Comment   string    `json:"comment"`
}

// Notifier is a generic JSON webhook.
type Notifier struct {
	conf   *config.WebhookConfig
	client *http.Client
}

// New returns a webhook notifier with an HTTP client built from the
// configuration's http_config.
func New(conf *config.WebhookConfig, name string) (*Notifier, error) {
	client, err := notify.NewClient(conf.HTTPConfig, name)
	if err != nil {
		return nil, err
	}
	return &Notifier{conf: conf, client: client}, nil
}

// Notify posts one message.
func (n *Notifier) Notify(ctx context.Context, d *tmpl.Data) (bool, error) {
	list := d.List()
	as := make([]Alert, len(list))
	for i, a := range list {
		as[i] = Alert{IncidentID: a.IncidentID, Kind: a.Kind, IncidentURL: a.IncidentURL, SilenceURL: a.SilenceURL, Alert: a.Alert}
		if m := a.Maintenance; m != nil {
			as[i].Maintenance = &Maintenance{ID: m.WindowID, EndsAt: m.EndsAt, CreatedBy: m.CreatedBy, Comment: m.Comment}
		}
	}
	body, err := json.Marshal(Message{
		Version: "1", Kind: d.Kind, IncidentID: d.IncidentID, Status: d.Status,
		Title: d.Subject(), Text: d.DefaultText(), Alert: d.Alert, Alerts: as, ExternalURL: d.ExternalURL,
	})
	if err != nil {
		return false, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range n.conf.Headers {
		h.Set(k, v)
	}
	if n.conf.BearerToken != "" {
		h.Set("Authorization", "Bearer "+string(n.conf.BearerToken))
	}
	return notify.PostAndCheck(ctx, n.client, http.MethodPost, n.conf.URL, h, body)
}
