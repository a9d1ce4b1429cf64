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
	"go/ast"
	"go/token"
	"path/filepath"
	"sort"
	"testing"
)

// mntrFiles turn one member's answer into samples (README, Architecture).
var mntrFiles = map[string]bool{"mntr.go": true, "mntr_labels.go": true, "mntr_keys.go": true}

// TestMntrFilesOneWay keeps a sample's path readable in one direction:
// ensemble.go calls mntrSamples, and the mntr files use nothing declared in
// the other collector files but the Namespace constant, so they never call
// back into the ensemble collector or the scrape code; they build samples
// through package series only. It checks the names the parser leaves
// unresolved in the mntr files (those declared in another file of the
// package); a method reached through a selector is not seen, which review
// must keep.
func TestMntrFilesOneWay(t *testing.T) {
	fset := token.NewFileSet()
	parsed := parseSources(t, fset, ".")
	declaredIn := map[string]string{}
	for _, f := range parsed {
		file := filepath.Base(fset.Position(f.Pos()).Filename)
		for name := range topLevelNames(f) {
			declaredIn[name] = file
		}
	}
	seen := 0
	for _, f := range parsed {
		file := filepath.Base(fset.Position(f.Pos()).Filename)
		if !mntrFiles[file] {
			continue
		}
		seen++
		for _, id := range foreignIdents(f) {
			if from, ok := declaredIn[id.Name]; ok && !mntrFiles[from] && id.Name != "Namespace" {
				t.Errorf("%s: %s uses %s of %s", fset.Position(id.Pos()), file, id.Name, from)
			}
		}
	}
	if seen != len(mntrFiles) {
		t.Fatalf("found %d of the mntr files %v", seen, mntrFiles)
	}
}

// topLevelNames returns the package-level functions, types, vars and
// consts f declares (not methods).
func topLevelNames(f *ast.File) map[string]bool {
	names := map[string]bool{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			if d.Recv == nil {
				names[d.Name.Name] = true
			}
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				switch s := spec.(type) {
				case *ast.TypeSpec:
					names[s.Name.Name] = true
				case *ast.ValueSpec:
					for _, n := range s.Names {
						names[n.Name] = true
					}
				}
			}
		}
	}
	return names
}

// foreignIdents returns the identifiers of f the parser could not resolve
// within f (declared in another file, imported, or predeclared), leaving
// out selectors' names and composite literals' keys.
func foreignIdents(f *ast.File) []*ast.Ident {
	var out []*ast.Ident
	skip := map[*ast.Ident]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			skip[n.Sel] = true
		case *ast.KeyValueExpr:
			if id, ok := n.Key.(*ast.Ident); ok {
				skip[id] = true
			}
		case *ast.Field:
			for _, id := range n.Names {
				skip[id] = true
			}
		case *ast.Ident:
			if n.Obj == nil && !skip[n] {
				out = append(out, n)
			}
		}
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Pos() < out[j].Pos() })
	return out
}
