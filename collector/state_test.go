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
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestNoPackageState keeps collector/ free of process-wide mutable state,
// so that two exporters in one process share nothing (README,
// Architecture). It parses the package's non-test files. The rule:
//
//   - A package-level var must be initialised by a constant-like value: a
//     literal, a composite literal of such values, a table built once by a
//     function literal called in place (mntr_keys.go), errors.New, or a
//     sync.Pool. A var without an initialiser (a zero value to be filled
//     later) is state.
//   - No function writes one (assignment, ++/--, delete, clear), except
//     init functions and functions only init functions call
//     (registerCollector filling factories, as node_exporter does).
//
// sync.Pool is allowed: what Get returns is either new or a buffer its
// previous user reset, so no caller can observe another exporter's use of
// it; it is how the standard library and promhttp keep buffers too.
// Taking a var's address (the group collector's label names, the quantile
// values handed to dto) is allowed: nothing writes through those pointers,
// which the second rule does not see and review must keep so.
//
// The samples library the collectors build on (internal/series) is held
// to the same rule.
func TestNoPackageState(t *testing.T) {
	for _, dir := range []string{".", filepath.Join("internal", "series")} {
		fset := token.NewFileSet()
		parsed := parseSources(t, fset, dir)
		if len(parsed) < 2 {
			t.Fatalf("found %d source files in %s: not run from the collector directory?", len(parsed), dir)
		}
		vars := map[string]*ast.ValueSpec{}
		for _, f := range parsed {
			for _, problem := range packageVars(fset, f, vars) {
				t.Error(problem)
			}
		}
		for _, problem := range varWrites(fset, parsed, vars) {
			t.Error(problem)
		}
	}
}

// parseSources parses the non-test Go files of dir.
func parseSources(t *testing.T, fset *token.FileSet, dir string) []*ast.File {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
	}
	return parsed
}

// packageVars records the package-level vars of f in vars and reports
// those not initialised by a constant-like value.
func packageVars(fset *token.FileSet, f *ast.File, vars map[string]*ast.ValueSpec) []string {
	var problems []string
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				vars[name.Name] = vs
				if i >= len(vs.Values) {
					problems = append(problems, fmt.Sprintf("%s: var %s has no initialiser: package-level state", fset.Position(name.Pos()), name.Name))
				} else if !constantLike(vs.Values[i]) {
					problems = append(problems, fmt.Sprintf("%s: var %s is not initialised by a constant-like value", fset.Position(name.Pos()), name.Name))
				}
			}
		}
	}
	return problems
}

// constantLike tells whether e is a value TestNoPackageState accepts.
func constantLike(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit, *ast.Ident:
		return true
	case *ast.CompositeLit:
		if sel, ok := e.Type.(*ast.SelectorExpr); ok && exprName(sel) == "sync.Pool" {
			return true
		}
		for _, el := range e.Elts {
			if kv, ok := el.(*ast.KeyValueExpr); ok {
				el = kv.Value
			}
			if !constantLike(el) {
				return false
			}
		}
		return true
	case *ast.UnaryExpr:
		return constantLike(e.X)
	case *ast.CallExpr:
		if _, ok := e.Fun.(*ast.FuncLit); ok && len(e.Args) == 0 {
			return true // a table built once, in place
		}
		return exprName(e.Fun) == "errors.New"
	}
	return false
}

func exprName(e ast.Expr) string {
	if sel, ok := e.(*ast.SelectorExpr); ok {
		if x, ok := sel.X.(*ast.Ident); ok {
			return x.Name + "." + sel.Sel.Name
		}
	}
	return ""
}

// varWrites reports writes to vars outside init and the functions only
// init calls.
func varWrites(fset *token.FileSet, files []*ast.File, vars map[string]*ast.ValueSpec) []string {
	writers := map[string][]token.Pos{} // function name → positions of its writes
	callers := map[string][]string{}    // function name → functions calling it
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			if fd.Recv != nil {
				name = "(method) " + name
			}
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				for _, target := range written(n) {
					if id := rootIdent(target); id != nil && isPackageVar(id, vars) {
						writers[name] = append(writers[name], target.Pos())
					}
				}
				if call, ok := n.(*ast.CallExpr); ok {
					if id, ok := call.Fun.(*ast.Ident); ok {
						callers[id.Name] = append(callers[id.Name], name)
					}
				}
				return true
			})
		}
	}
	var problems []string
	for fn, positions := range writers {
		if fn == "init" || len(callers[fn]) > 0 && !slices.ContainsFunc(callers[fn], func(c string) bool { return c != "init" }) {
			continue
		}
		for _, p := range positions {
			problems = append(problems, fmt.Sprintf("%s: %s writes a package-level var", fset.Position(p), fn))
		}
	}
	return problems
}

// isPackageVar tells whether id names a package-level var rather than a
// local of the same name: the parser resolves names declared in the same
// file (Obj.Decl is then the declaration) and leaves the others nil.
func isPackageVar(id *ast.Ident, vars map[string]*ast.ValueSpec) bool {
	spec, ok := vars[id.Name]
	return ok && (id.Obj == nil || id.Obj.Decl == spec)
}

// written returns the expressions n writes to.
func written(n ast.Node) []ast.Expr {
	switch n := n.(type) {
	case *ast.AssignStmt:
		if n.Tok == token.DEFINE {
			return nil
		}
		return n.Lhs
	case *ast.IncDecStmt:
		return []ast.Expr{n.X}
	case *ast.CallExpr:
		if id, ok := n.Fun.(*ast.Ident); ok && (id.Name == "delete" || id.Name == "clear") && len(n.Args) > 0 {
			return n.Args[:1]
		}
	}
	return nil
}

// rootIdent returns the variable an expression such as v, v[k], v.f or
// *v ends in.
func rootIdent(e ast.Expr) *ast.Ident {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x
		case *ast.IndexExpr:
			e = x.X
		case *ast.SelectorExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		default:
			return nil
		}
	}
}
