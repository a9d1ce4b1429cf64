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

package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// The README says the mains share one shape: run returning the exit
// code, their own kingpin application, their logger from internal/logging.
func TestMainsShareOneShape(t *testing.T) {
	for _, bin := range []string{"zookeeper_exporter", "zkwatch_receiver", "zkwatch_agent", "zkwatch_roll"} {
		path := filepath.Join("..", "cmd", bin, "main.go")
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		var hasRun, hasApp, hasLogging bool
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Name.Name == "run" && n.Recv == nil && n.Type.Results != nil && len(n.Type.Results.List) == 1 {
					if id, ok := n.Type.Results.List[0].Type.(*ast.Ident); ok && id.Name == "int" {
						hasRun = true
					}
				}
			case *ast.SelectorExpr:
				pkg, ok := n.X.(*ast.Ident)
				if !ok {
					break
				}
				switch {
				case pkg.Name == "kingpin" && n.Sel.Name == "New":
					hasApp = true
				case pkg.Name == "kingpin" && (n.Sel.Name == "CommandLine" || n.Sel.Name == "Flag" || n.Sel.Name == "Parse" || n.Sel.Name == "Version"):
					t.Errorf("%s uses the global kingpin.%s", path, n.Sel.Name)
				case pkg.Name == "logging" && n.Sel.Name == "New":
					hasLogging = true
				}
			}
			return true
		})
		if !hasRun || !hasApp || !hasLogging {
			t.Errorf("%s: run() int %v, kingpin.New %v, logging.New %v", path, hasRun, hasApp, hasLogging)
		}
	}
}
