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

package collector

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// connectionOpeners are the identifiers, by import path, that open a
// connection to a member or build something that does, each with the one
// file allowed to use it ("" for none): the member client is built in New,
// the watch session in the watcher.
var connectionOpeners = map[string]map[string]string{
	"net":                        {"Dial": "", "DialTimeout": "", "DialTCP": "", "DialUDP": "", "DialIP": "", "DialUnix": "", "Dialer": ""},
	"crypto/tls":                 {"Dial": "", "DialWithDialer": "", "Dialer": "", "Client": ""},
	"net/http":                   {"Get": "", "Head": "", "Post": "", "PostForm": "", "DefaultClient": "", "Client": "", "Transport": "", "DefaultTransport": "", "NewRequest": "", "NewRequestWithContext": ""},
	"github.com/go-zookeeper/zk": {"Connect": "", "ConnectWithDialer": ""},
	"github.com/zkwatch/zkwatch/internal/zktls": {"DialOnce": "", "Dialer": ""},
	"github.com/zkwatch/zkwatch/internal/fourlw": {
		"Do": "", "DoTLS": "", "NewWarm": "", "Warm": "", "FourLetterProber": "", "AdminProber": "", "AdminClient": "",
		"NewClient": "collector.go",
	},
	"github.com/zkwatch/zkwatch/internal/zksession": {"New": "watch.go"},
}

// openerUses returns "file:line: pkg.Name" for every use of a connection
// opener in src outside the file allowed to use it.
func openerUses(fset *token.FileSet, name string, src any) ([]string, error) {
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	imported := map[string]string{} // local name → import path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		local := path[strings.LastIndex(path, "/")+1:]
		if imp.Name != nil {
			local = imp.Name.Name
		}
		imported[local] = path
	}
	var uses []string
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		x, ok := sel.X.(*ast.Ident)
		if !ok {
			return true
		}
		only, found := connectionOpeners[imported[x.Name]][sel.Sel.Name]
		if found && only != filepath.Base(name) {
			uses = append(uses, fmt.Sprintf("%s: %s.%s", fset.Position(sel.Pos()), x.Name, sel.Sel.Name))
		}
		return true
	})
	return uses, nil
}

// TestCollectorsReachMembersOnlyThroughClient parses the package's sources:
// no collector dials, sends a four-letter word or builds an HTTP client of
// its own; they all go through the one member client that New builds (and
// the watch collectors through the one watch session), so that none can
// miss the transport, TLS or deadline settings.
func TestCollectorsReachMembersOnlyThroughClient(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		uses, err := openerUses(fset, file, nil)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, u := range uses {
			t.Errorf("%s opens a connection of its own; use the member client (Config.members)", u)
		}
	}
	if checked < 5 {
		t.Fatalf("checked %d source files; run from the collector directory", checked)
	}
}

// TestOpenerUsesFindsDirectCalls makes sure the check above would catch the
// direct call the connections collector used to make, under any import name.
func TestOpenerUsesFindsDirectCalls(t *testing.T) {
	src := `package collector
import (
	words "github.com/zkwatch/zkwatch/internal/fourlw"
	"net"
)
func ask() {
	_, _ = words.Do(nil, "127.0.0.1:2181", "cons", 0)
	_, _ = net.Dial("tcp", "127.0.0.1:2181")
	_, _ = words.NewClient(words.ClientOptions{})
	_ = words.ErrTimeout
}`
	uses, err := openerUses(token.NewFileSet(), "connections.go", src)
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != 3 || !strings.Contains(uses[0], "words.Do") || !strings.Contains(uses[1], "net.Dial") || !strings.Contains(uses[2], "words.NewClient") {
		t.Errorf("uses = %q, want words.Do, net.Dial and words.NewClient", uses)
	}
	if _, err := os.Stat("collector.go"); err != nil {
		t.Fatalf("not run from the collector directory: %v", err)
	}
}
