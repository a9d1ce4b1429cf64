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

package roll

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

// Member is what a command template may name of the member to restart.
type Member struct {
	Addr string // host:port as the operator listed it
	Host string
	Port string
	ID   int // server id from the member's conf
}

// safeValue is what a member's address may hold to reach an argument: no
// leading '-' (it would read as an option), no space, quote or shell
// character (there is no shell, but the command may hand it to one, as
// ssh does).
var safeValue = regexp.MustCompile(`^[A-Za-z0-9_.:\[\]%][A-Za-z0-9_.:\[\]%-]*$`)

// Template is the operator's per-member command: argv[0] as given, each
// further argument a text/template over Member that renders to exactly
// one argument. It is run without a shell.
type Template struct {
	src  []string
	args []*template.Template
}

// ParseTemplate parses argv; every argument must render for a member with
// an address and an id.
func ParseTemplate(argv []string) (*Template, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("no command: give it after --, e.g. -- ssh {{.Host}} sudo systemctl restart zookeeper")
	}
	if strings.Contains(argv[0], "{{") {
		return nil, fmt.Errorf("command %q: the program is not a template; name it as it is", argv[0])
	}
	t := &Template{src: argv, args: make([]*template.Template, len(argv))}
	for i := 1; i < len(argv); i++ {
		tt, err := template.New(strconv.Itoa(i)).Option("missingkey=error").Parse(argv[i])
		if err != nil {
			return nil, fmt.Errorf("command argument %d %q: %v", i, argv[i], err)
		}
		t.args[i] = tt
	}
	if _, err := t.Render(Member{Addr: "zk1:2181", Host: "zk1", Port: "2181", ID: 1}); err != nil {
		return nil, err
	}
	return t, nil
}

// NewMember splits a member's address and checks every value a template
// may name: a value starting with '-' or holding other than letters,
// digits and _.:[]%- is refused.
func NewMember(addr string, id int) (Member, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Member{}, fmt.Errorf("member %q: %v", addr, err)
	}
	for _, v := range []string{addr, host, port} {
		if !safeValue.MatchString(v) {
			return Member{}, fmt.Errorf("member %q refused: %q is not a plain host or port (a leading '-' would read as an option)", addr, v)
		}
	}
	return Member{Addr: addr, Host: host, Port: port, ID: id}, nil
}

// Render returns the argv for m. An argument whose template does not start
// with '-' must not render to one that does; an id of 0 (not known) is
// refused where the template names it.
func (t *Template) Render(m Member) ([]string, error) {
	argv := make([]string, len(t.src))
	argv[0] = t.src[0]
	for i := 1; i < len(t.src); i++ {
		var b bytes.Buffer
		if err := t.args[i].Execute(&b, m); err != nil {
			return nil, fmt.Errorf("command argument %d %q: %v", i, t.src[i], err)
		}
		arg := b.String()
		switch {
		case strings.HasPrefix(arg, "-") && !strings.HasPrefix(t.src[i], "-"):
			return nil, fmt.Errorf("command argument %d renders to %q for %s: refused, it would read as an option", i, arg, m.Addr)
		case m.ID == 0 && strings.Contains(t.src[i], ".ID"):
			return nil, fmt.Errorf("command argument %d names .ID but %s did not tell its server id (conf not whitelisted?)", i, m.Addr)
		}
		argv[i] = arg
	}
	return argv, nil
}
