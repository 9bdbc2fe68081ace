package teststyle

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testingTypes are the testing package's types whose Error, Errorf, Fatal
// and Fatalf testify replaces.
var testingTypes = map[string]bool{"T": true, "B": true, "F": true, "TB": true}

// banned are the methods a test reports a failure with by hand.
var banned = map[string]bool{"Error": true, "Errorf": true, "Fatal": true, "Fatalf": true}

// TestOneAssertionStyle walks every Go file of the module that imports
// "testing" and reports each call of Error, Errorf, Fatal or Fatalf on a
// variable declared as *testing.T, *testing.B, *testing.F or testing.TB.
func TestOneAssertionStyle(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	fset := token.NewFileSet()
	var found []string
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, rel, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		testingName := importName(f, "testing")
		if testingName == "" {
			return nil
		}
		files++
		found = append(found, handWrittenChecks(fset, f, testingName)...)
		return nil
	})
	require.NoError(t, err)
	require.NotZero(t, files, "no Go file importing testing under %s", root)
	assert.Zero(t, len(found), "hand-written checks: assert with testify (require or assert) instead:\n%s", strings.Join(found, "\n"))
}

// TestFindsHandWrittenChecks: the check sees calls on parameters and
// variables of every testing type, in closures too, under a renamed
// import, and leaves other Error methods alone.
func TestFindsHandWrittenChecks(t *testing.T) {
	t.Parallel()
	src := `package x

import (
	"fmt"
	"errors"
	tt "testing"
)

func TestA(t *tt.T) {
	t.Fatal("a")
	t.Run("s", func(st *tt.T) { st.Errorf("b") })
	_ = errors.New("c").Error()
}

func BenchmarkB(b *tt.B) { b.Fatalf("d") }

func helper(tb tt.TB) { tb.Error("e"); tb.Log("fine") }

func FuzzF(f *tt.F) {
	f.Fatal("f")
	f.Fuzz(func(t *tt.T, s string) { t.Error(s) })
}

func other(t interface{ Error(...any) }) { t.Error("not testing's") }
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "x_test.go", src, parser.SkipObjectResolution)
	require.NoError(t, err)
	got := handWrittenChecks(fset, f, importName(f, "testing"))
	assert.Equal(t, []string{
		"x_test.go:10:2: t.Fatal",
		"x_test.go:11:30: st.Errorf",
		"x_test.go:15:28: b.Fatalf",
		"x_test.go:17:25: tb.Error",
		"x_test.go:20:2: f.Fatal",
		"x_test.go:21:35: t.Error",
	}, got)
}

// handWrittenChecks lists the banned calls in f as "file:line:col: x.Method".
func handWrittenChecks(fset *token.FileSet, f *ast.File, testingName string) []string {
	var out []string
	// Walk each function with the names its parameters bind to a testing
	// type; closures add their own.
	var walk func(n ast.Node, vars map[string]bool)
	walk = func(n ast.Node, vars map[string]bool) {
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				if inner := withParams(vars, n.Type, testingName); inner != nil {
					walk(n.Body, inner)
					return false
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || !banned[sel.Sel.Name] {
					return true
				}
				if id, ok := sel.X.(*ast.Ident); ok && vars[id.Name] {
					p := fset.Position(n.Pos())
					out = append(out, fmt.Sprintf("%s:%d:%d: %s.%s", p.Filename, p.Line, p.Column, id.Name, sel.Sel.Name))
				}
			}
			return true
		})
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		vars := withParams(map[string]bool{}, fn.Type, testingName)
		if vars == nil {
			vars = map[string]bool{}
		}
		walk(fn.Body, vars)
	}
	return out
}

// withParams returns vars plus the parameters of ft typed as a testing
// type, or nil when ft declares none (and vars applies unchanged).
func withParams(vars map[string]bool, ft *ast.FuncType, testingName string) map[string]bool {
	var names []string
	for _, p := range ft.Params.List {
		if isTestingType(p.Type, testingName) {
			for _, n := range p.Names {
				names = append(names, n.Name)
			}
		}
	}
	if len(names) == 0 {
		return nil
	}
	out := make(map[string]bool, len(vars)+len(names))
	for k, v := range vars {
		out[k] = v
	}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// isTestingType reports whether e is *testing.T, *testing.B, *testing.F
// or testing.TB (under the file's name for the testing package).
func isTestingType(e ast.Expr, testingName string) bool {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == testingName && testingTypes[sel.Sel.Name]
}

// importName is the name f refers to path by, or "" when f does not
// import it.
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		if strings.Trim(imp.Path.Value, `"`) != path {
			continue
		}
		if imp.Name != nil {
			return imp.Name.Name
		}
		return path[strings.LastIndex(path, "/")+1:]
	}
	return ""
}

// moduleRoot is the directory holding go.mod, above this package's.
func moduleRoot(t *testing.T) string {
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test's directory")
		dir = parent
	}
}
