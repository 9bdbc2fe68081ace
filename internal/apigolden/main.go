// Command apigolden keeps the exported API of every public package under
// review: it writes, per package, one line per exported name (constants,
// variables, functions, types, methods, struct fields and interface
// methods, with their signatures) to docs/api/<import path>.txt, and with
// -check fails when the checked-in files differ from the code. .ci/run
// runs the check; after changing the API on purpose, regenerate with
//
//	go run ./internal/apigolden -update
//
// and commit the diff with the change. -count prints the number of
// exported identifiers (top-level names and methods; fields apart).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

const module = "github.com/tenantgate/tenantgate"

func main() {
	update := flag.Bool("update", false, "rewrite docs/api from the code")
	count := flag.Bool("count", false, "print the exported identifier counts")
	dir := flag.String("dir", "docs/api", "where the golden files are")
	flag.Parse()
	pkgs, err := publicPackages()
	if err != nil {
		fail(err)
	}
	var top, methods, fields int
	want := map[string][]byte{}
	for _, p := range pkgs {
		lines, err := apiOf(p.files)
		if err != nil {
			fail(err)
		}
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "field "), strings.HasPrefix(l, "embed "):
				fields++
			case strings.HasPrefix(l, "method "):
				methods++
			default:
				top++
			}
		}
		name := strings.ReplaceAll(strings.TrimPrefix(strings.TrimPrefix(p.path, module), "/"), "/", "_")
		if name == "" {
			name = "tenantgate"
		}
		want[name+".txt"] = []byte("# " + p.path + "\n" + strings.Join(lines, "\n") + "\n")
	}
	if *count {
		fmt.Printf("packages %d, exported identifiers %d (top-level %d + methods %d), exported fields %d\n",
			len(pkgs), top+methods, top, methods, fields)
	}
	if *update {
		if err := write(*dir, want); err != nil {
			fail(err)
		}
		return
	}
	if *count {
		return
	}
	if diffs := check(*dir, want); len(diffs) > 0 {
		fmt.Fprintln(os.Stderr, "apigolden: the exported API differs from docs/api:")
		for _, d := range diffs {
			fmt.Fprintln(os.Stderr, "  "+d)
		}
		fmt.Fprintln(os.Stderr, "If the change is intended, regenerate with `go run ./internal/apigolden -update` and commit docs/api with it (git diff docs/api shows the change for review).")
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "apigolden:", err)
	os.Exit(2)
}

// pkg is a package and its Go files (build constraints applied, tests
// left out).
type pkg struct {
	path  string
	files []string
}

// publicPackages lists the module's importable packages: not internal,
// not examples, not commands.
func publicPackages() ([]pkg, error) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Name}}\t{{.Dir}}\t{{join .GoFiles \",\"}}", "./...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	var ps []pkg
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || f[1] == "main" {
			continue
		}
		rel := "/" + strings.TrimPrefix(f[0], module) + "/"
		if strings.Contains(rel, "/internal/") || strings.HasPrefix(rel, "/examples/") {
			continue
		}
		var files []string
		for _, name := range strings.Split(f[3], ",") {
			files = append(files, filepath.Join(f[2], name))
		}
		ps = append(ps, pkg{f[0], files})
	}
	return ps, nil
}

// apiOf returns the sorted API lines of the package of files.
func apiOf(files []string) ([]string, error) {
	fset := token.NewFileSet()
	var parsed []*ast.File
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, f)
	}
	str := func(n ast.Node) string {
		var b bytes.Buffer
		_ = printer.Fprint(&b, fset, n)
		return strings.Join(strings.Fields(b.String()), " ")
	}
	var lines []string
	for _, f := range parsed {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				sig := strings.TrimPrefix(str(d.Type), "func")
				if d.Recv == nil {
					lines = append(lines, "func "+d.Name.Name+sig)
					continue
				}
				recv := d.Recv.List[0].Type
				base := recv
				if s, ok := base.(*ast.StarExpr); ok {
					base = s.X
				}
				if ix, ok := base.(*ast.IndexExpr); ok {
					base = ix.X
				}
				if ix, ok := base.(*ast.IndexListExpr); ok {
					base = ix.X
				}
				if id, ok := base.(*ast.Ident); ok && id.IsExported() {
					lines = append(lines, "method ("+str(recv)+") "+d.Name.Name+sig)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if !n.IsExported() {
								continue
							}
							l := d.Tok.String() + " " + n.Name
							if s.Type != nil {
								l += " " + str(s.Type)
							}
							lines = append(lines, l)
						}
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						lines = append(lines, typeLines(s, str)...)
					}
				}
			}
		}
	}
	slices.Sort(lines)
	return slices.Compact(lines), nil
}

func typeLines(s *ast.TypeSpec, str func(ast.Node) string) []string {
	name := s.Name.Name
	tparams := ""
	if s.TypeParams != nil {
		tparams = str(s.TypeParams)
	}
	if s.Assign.IsValid() {
		return []string{"type " + name + tparams + " = " + str(s.Type)}
	}
	switch t := s.Type.(type) {
	case *ast.StructType:
		out := []string{"type " + name + tparams + " struct"}
		for _, f := range t.Fields.List {
			if len(f.Names) == 0 {
				out = append(out, "embed "+name+"."+str(f.Type))
				continue
			}
			for _, n := range f.Names {
				if n.IsExported() {
					out = append(out, "field "+name+"."+n.Name+" "+str(f.Type))
				}
			}
		}
		return out
	case *ast.InterfaceType:
		out := []string{"type " + name + tparams + " interface"}
		for _, m := range t.Methods.List {
			if len(m.Names) == 0 {
				out = append(out, "embed "+name+"."+str(m.Type))
				continue
			}
			for _, n := range m.Names {
				if n.IsExported() {
					out = append(out, "method "+name+"."+n.Name+strings.TrimPrefix(str(m.Type), "func"))
				}
			}
		}
		return out
	default:
		return []string{"type " + name + tparams + " " + str(s.Type)}
	}
}

func write(dir string, want map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	for _, f := range old {
		if _, ok := want[filepath.Base(f)]; !ok {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	for name, b := range want {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// check compares the files in dir with want and describes each
// difference.
func check(dir string, want map[string][]byte) []string {
	var diffs []string
	have, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	for _, f := range have {
		if _, ok := want[filepath.Base(f)]; !ok {
			diffs = append(diffs, filepath.Base(f)+": no such public package any more")
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		got, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			diffs = append(diffs, n+": missing (a new public package)")
			continue
		}
		if !bytes.Equal(got, want[n]) {
			diffs = append(diffs, n+": "+lineDiff(string(got), string(want[n])))
		}
	}
	return diffs
}

// lineDiff names the lines added to and removed from the API.
func lineDiff(old, cur string) string {
	o, c := strings.Split(old, "\n"), strings.Split(cur, "\n")
	var parts []string
	for _, l := range c {
		if l != "" && !slices.Contains(o, l) {
			parts = append(parts, "+ "+l)
		}
	}
	for _, l := range o {
		if l != "" && !slices.Contains(c, l) {
			parts = append(parts, "- "+l)
		}
	}
	return strings.Join(parts, "; ")
}
