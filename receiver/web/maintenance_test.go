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

package web_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zkwatch/zkwatch/receiver/payload"
	"github.com/zkwatch/zkwatch/receiver/receivertest"
)

const maintenanceYAML = `
global: {bearer_token: s3cret}
maintenance: {max_duration: 2h}
restarts:
  - name: member
    match: {alertname: ZooKeeperProcessMemberDown}
    command: ["/bin/true", "{{ .Labels.member }}"]
`

// call sends a request with the token (and the Origin/Content-Type given).
func call(t *testing.T, method, u, contentType, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer s3cret")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func windowJSON(matchers string, endsIn time.Duration) string {
	return fmt.Sprintf(`{"matchers":%s,"endsAt":%q,"createdBy":"alice","comment":"kernel upgrade"}`,
		matchers, time.Now().Add(endsIn).UTC().Format(time.RFC3339Nano))
}

// Bad input gets a 4xx with the reason, and state changes need the token
// and the same origin.
func TestMaintenanceAPIRefusesBadInput(t *testing.T) {
	env := receivertest.Start(t, maintenanceYAML)
	api := env.Server.URL + "/api/v1/maintenance"
	member := `[{"name":"member","value":"web-1","isRegex":false}]`
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		name, ct, body string
		code           int
		reason         string
	}{
		{"malformed", "application/json", `{"matchers":`, 400, "unexpected EOF"},
		{"unknown field", "application/json", `{"matchers":[],"silenceID":"x"}`, 400, "unknown field"},
		{"two values", "application/json", windowJSON(member, time.Hour) + "{}", 400, "more than one JSON value"},
		{"not JSON", "text/plain", windowJSON(member, time.Hour), 415, "application/json"},
		{"empty matchers", "application/json", windowJSON(`[]`, time.Hour), 400, "at least one matcher"},
		{"unvetted label", "application/json", windowJSON(`[{"name":"instance","value":"web-1"}]`, time.Hour), 400, "not vetted"},
		{"endsAt past", "application/json", windowJSON(member, -time.Minute), 400, "in the past"},
		{"endsAt before startsAt", "application/json", fmt.Sprintf(`{"matchers":%s,"startsAt":%q,"endsAt":%q,"createdBy":"a","comment":"c"}`,
			member, time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339), soon), 400, "not after startsAt"},
		{"too long", "application/json", windowJSON(member, 3*time.Hour), 400, "max_duration"},
		{"oversized", "application/json", `{"comment":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "exceeds"},
		{"unknown id", "application/json", `{"id":"0123456789abcdef0123456789abcdef","matchers":` + member +
			`,"endsAt":"` + soon + `","createdBy":"a","comment":"c"}`, 404, "no such"},
	} {
		code, body := call(t, http.MethodPost, api, c.ct, c.body)
		if code != c.code || !strings.Contains(body, c.reason) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.code, c.reason)
		}
	}
	if code, body := call(t, http.MethodDelete, api+"/0123456789abcdef0123456789abcdef", "", ""); code != 404 {
		t.Errorf("deleting an unknown window: %d %s", code, body)
	}
	// Same auth and origin rules as /-/reload.
	req, _ := http.NewRequest(http.MethodPost, api, strings.NewReader(windowJSON(member, time.Hour)))
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without the token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if code, _ := call(t, http.MethodPost, api, "application/json", windowJSON(member, time.Hour), "Origin", "http://attacker.example"); code != 403 {
		t.Errorf("cross-origin POST: %d, want 403", code)
	}
	if code, _ := call(t, http.MethodPost, env.Server.URL+"/maintenance", "application/x-www-form-urlencoded",
		"matchers=member%3Dweb-1&duration=1h&createdBy=a&comment=c", "Sec-Fetch-Site", "cross-site"); code != 403 {
		t.Errorf("cross-site form post: %d, want 403", code)
	}
	var list struct{ Windows []json.RawMessage }
	_, body := call(t, http.MethodGet, api, "", "")
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Windows) != 0 {
		t.Errorf("refused requests left windows: %s", body)
	}
}

// A window made through the API is listed as active, extended by a POST
// with its id, shown on the page with a link to the matching Alertmanager
// silence, and ended by DELETE; the page's form makes and ends windows.
func TestMaintenanceAPIAndPage(t *testing.T) {
	env := receivertest.Start(t, maintenanceYAML)
	api := env.Server.URL + "/api/v1/maintenance"
	b, _ := json.Marshal(payload.Message{Version: "4", Status: "firing", ExternalURL: "http://alertmanager.example:9093",
		Alerts: []payload.Alert{{Status: "firing", Labels: map[string]string{"alertname": "Other"}, StartsAt: time.Now()}}})
	if code, body := call(t, http.MethodPost, env.Server.URL+"/webhook", "application/json", string(b)); code != 200 {
		t.Fatalf("webhook: %d %s", code, body)
	}
	code, body := call(t, http.MethodPost, api, "application/json", windowJSON(`[{"name":"member","value":"web-1","isRegex":false}]`, time.Hour))
	var w struct {
		ID              string
		Extensions      int
		PastMaxDuration bool
		Status          struct{ State string }
	}
	if err := json.Unmarshal([]byte(body), &w); code != 200 || err != nil || w.Status.State != "active" || len(w.ID) != 32 {
		t.Fatalf("create: %d %s", code, body)
	}
	ext := fmt.Sprintf(`{"id":%q,"matchers":[{"name":"member","value":"web-1"}],"endsAt":%q,"createdBy":"alice","comment":"longer"}`,
		w.ID, time.Now().Add(90*time.Minute).UTC().Format(time.RFC3339))
	if code, body = call(t, http.MethodPost, api, "application/json", ext); code != 200 || json.Unmarshal([]byte(body), &w) != nil || w.Extensions != 1 {
		t.Fatalf("extend: %d %s", code, body)
	}
	_, page := call(t, http.MethodGet, env.Server.URL+"/", "", "")
	silence := "http://alertmanager.example:9093/#/silences/new?filter=" + url.QueryEscape(`{member="web-1"}`)
	for _, want := range []string{`data-id="` + w.ID + `"`, "longer", `href="` + strings.ReplaceAll(silence, "&", "&amp;") + `"`, `action="maintenance"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if code, body = call(t, http.MethodDelete, api+"/"+w.ID, "", ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	code, _ = call(t, http.MethodPost, env.Server.URL+"/maintenance", "application/x-www-form-urlencoded",
		url.Values{"matchers": {`member=~"web-.*", member!=web-3`}, "duration": {"30m"}, "createdBy": {"bob"}, "comment": {"rack move"}}.Encode(),
		"Sec-Fetch-Site", "same-origin")
	if code != http.StatusSeeOther {
		t.Fatalf("form post: %d", code)
	}
	var list struct {
		Windows []struct {
			ID       string
			Matchers []struct {
				Name, Value string
				IsRegex     bool
			}
			Status struct{ State string }
		}
	}
	_, body = call(t, http.MethodGet, api, "", "")
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list.Windows) != 1 || list.Windows[0].Status.State != "active" ||
		len(list.Windows[0].Matchers) != 2 || list.Windows[0].Matchers[0].Value != "web-.*" || !list.Windows[0].Matchers[0].IsRegex {
		t.Fatalf("after the form: %s", body)
	}
	if code, _ = call(t, http.MethodPost, env.Server.URL+"/maintenance/"+list.Windows[0].ID+"/delete", "application/x-www-form-urlencoded", "",
		"Sec-Fetch-Site", "same-origin"); code != http.StatusSeeOther {
		t.Fatalf("form delete: %d", code)
	}
	if _, body = call(t, http.MethodGet, api, "", ""); !strings.Contains(body, `"windows": []`) {
		t.Errorf("windows left: %s", body)
	}
}
