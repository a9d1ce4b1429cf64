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

package fourlw

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// TestParseConsList reads cons as the real 3.8 server printed it (a
// session from 127.0.0.2 and the asking connection) and the forms of other
// releases and address kinds.
func TestParseConsList(t *testing.T) {
	got, err := ParseConsList(fixture(t, "clients.cons.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Conn{
		{Client: "127.0.0.2", Received: 22, Sent: 22, MaxLatency: 136},
		{Client: "127.0.0.1", Received: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for line, want := range map[string]Conn{
		// 3.4.14: same fields, no lresp/llat before maxlat on older builds.
		" /10.0.0.7:41234[1](queued=3,recved=7,sent=6,sid=0x16a,lop=GETD,est=1,to=30000,lcxid=0x5,lzxid=0x9,lresp=2,llat=0,minlat=0,avglat=1,maxlat=12)": {Client: "10.0.0.7", Outstanding: 3, Received: 7, Sent: 6, MaxLatency: 12},
		"app-1.example.org/10.0.0.8:5555[0](queued=0,recved=1,sent=0)":                                                                                   {Client: "10.0.0.8", Received: 1},
		"/0:0:0:0:0:0:0:1:40000[1](queued=0,recved=2,sent=2,maxlat=4)":                                                                                   {Client: "0:0:0:0:0:0:0:1", Received: 2, Sent: 2, MaxLatency: 4},
		"/[::1]:40001[1](queued=1,recved=2,sent=1)":                                                                                                      {Client: "::1", Outstanding: 1, Received: 2, Sent: 1},
	} {
		got, err := ParseConsList([]byte(line + "\n\n"))
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("%q: got %+v, %v; want %+v", line, got, err, want)
		}
	}
}

func TestParseConsListRejects(t *testing.T) {
	for _, in := range []string{
		"garbage line",
		"/127.0.0.1[1](queued=0,recved=1,sent=0)",          // no port
		"/127.0.0.1:1[1](queued=x,recved=1,sent=0)",        // bad number
		"/127.0.0.1:99999[1](queued=0,recved=1,sent=0)",    // port out of range
		"/127.0.0.1:1234[1](queued=0,recved=1,sent=0",      // unterminated
		"This ZooKeeper instance is not currently serving", // text instead of cons
	} {
		if _, err := ParseConsList([]byte(in)); !errors.Is(err, ErrGarbage) {
			t.Errorf("%q: err = %v, want ErrGarbage", in, err)
		}
	}
}

// TestAdminConsList reads /commands/connections as the real 3.8 server
// served it.
func TestAdminConsList(t *testing.T) {
	dec := json.NewDecoder(bytes.NewReader(fixture(t, "clients.admin.connections.json")))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	got, err := adminConsList(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []Conn{{Client: "127.0.0.2", Received: 23, Sent: 23, MaxLatency: 136}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, err := adminConsList(map[string]any{"connections": []any{map[string]any{"remote_socket_address": "nope"}}}); !errors.Is(err, ErrGarbage) {
		t.Errorf("bad address: err = %v, want ErrGarbage", err)
	}
}
