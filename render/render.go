// Package render is the template language of ConfluxConfig files: Go
// text/template with a small, side-effect-free function set and secrets
// reachable as .Secrets.KEY or secret "KEY".
//
// Templates come from Git repositories, so they are only half trusted: they
// must not read the environment, files, the network, the clock or a random
// source (rendering has to be reproducible on every node and in a local
// preview), they must not exhaust memory or CPU, and no error may carry a
// secret value, because errors end up in logs, status and the Raft log.
package render

import (
	"encoding/base64"
	"errors"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"text/template/parse"
)

// MaxOutput bounds the rendered content; it is the Conflux content limit, so
// anything larger could never be published anyway.
const MaxOutput = 1 << 20

// maxSteps bounds range iterations plus template invocations of one Render.
// Output is bounded by MaxOutput, but a loop that prints nothing
// ({{range 1000000000000}}{{end}}) or a recursion through {{template}} would
// otherwise spin forever on the leader.
const maxSteps = 1_000_000

// stepFunc is the hidden function Render calls at the start of every range
// iteration and template body to enforce maxSteps.
const stepFunc = "_step"

// Options configures Render.
type Options struct {
	// LeftDelim and RightDelim replace "{{" and "}}" when both are set (e.g.
	// "<<" ">>"), for configs that are templates themselves.
	LeftDelim, RightDelim string
}

// Error is a template failure. It is the only error type Render and
// SecretKeys return, so callers can map Line to a file line.
type Error struct {
	// Line is 1-based within the template text; 0 when unknown.
	Line int
	// Column is the 1-based byte column within Line; 0 when unknown.
	Column int
	// Reason is text/template's wording without its "template: NAME:LINE:COL:"
	// prefix, with every secret value masked.
	Reason string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return "line " + strconv.Itoa(e.Line) + ": " + e.Reason
	}
	return e.Reason
}

var (
	errTooLarge = errors.New("rendered content is larger than 1 MiB")
	errSteps    = errors.New("template runs too many loop iterations and template calls (more than 1000000)")
	// genericLocRE matches a location prefix when the error names another
	// template than the one parsed (should not happen, but the prefix must
	// never leak into Reason).
	genericLocRE = regexp.MustCompile(`^template: [^\n]*?:(\d+)(?::(\d+))?: `)
)

// Render executes text with data {"Secrets": secrets}. A missing key is an
// error rather than "<no value>", since publishing a half-rendered config is
// worse than not publishing at all.
func Render(name, text string, secrets map[string]string, opts Options) (string, error) {
	return render(name, text, secrets, opts, maxSteps)
}

// render is Render with the step budget as a parameter, so tests can reach
// the limit quickly.
func render(name, text string, secrets map[string]string, opts Options, budget int) (string, error) {
	if secrets == nil {
		secrets = map[string]string{}
	}
	steps := 0
	fm := funcs(secrets)
	fm[stepFunc] = func() (string, error) {
		steps++
		if steps > budget {
			return "", errSteps
		}
		return "", nil
	}
	t, err := parseTemplate(name, text, opts, fm)
	if err != nil {
		return "", toError(name, err, secrets)
	}
	for _, tt := range t.Templates() {
		if tt.Tree != nil && tt.Tree.Root != nil {
			instrument(tt.Tree, tt.Tree.Root)
			prependStep(tt.Tree, tt.Tree.Root, tt.Tree.Root.Pos)
		}
	}
	w := &limitWriter{max: MaxOutput}
	if err := t.Execute(w, map[string]any{"Secrets": secrets}); err != nil {
		if errors.Is(err, errTooLarge) {
			return "", &Error{Reason: errTooLarge.Error()}
		}
		e := toError(name, err, secrets)
		if errors.Is(err, errSteps) {
			// The location is the loop or template; the wording of the
			// hidden function call would only confuse.
			e.Reason = errSteps.Error()
		}
		return "", e
	}
	return w.b.String(), nil
}

func parseTemplate(name, text string, opts Options, fm template.FuncMap) (*template.Template, error) {
	t := template.New(name).Option("missingkey=error").Funcs(fm)
	if opts.LeftDelim != "" && opts.RightDelim != "" {
		t = t.Delims(opts.LeftDelim, opts.RightDelim)
	}
	return t.Parse(text)
}

// instrument walks the tree and makes every range body start with a call of
// stepFunc.
func instrument(tree *parse.Tree, n parse.Node) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			instrument(tree, c)
		}
	case *parse.RangeNode:
		if n.List != nil {
			instrument(tree, n.List)
			prependStep(tree, n.List, n.Pos)
		}
		if n.ElseList != nil {
			instrument(tree, n.ElseList)
		}
	case *parse.IfNode:
		instrument(tree, n.List)
		if n.ElseList != nil {
			instrument(tree, n.ElseList)
		}
	case *parse.WithNode:
		instrument(tree, n.List)
		if n.ElseList != nil {
			instrument(tree, n.ElseList)
		}
	}
}

func prependStep(tree *parse.Tree, list *parse.ListNode, pos parse.Pos) {
	ident := parse.NewIdentifier(stepFunc).SetTree(tree).SetPos(pos)
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{ident}}
	pipe := &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{cmd}}
	action := &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: pipe}
	list.Nodes = append([]parse.Node{action}, list.Nodes...)
}

// limitWriter fails the execution as soon as the output would exceed max, so
// a runaway template stops at the limit instead of at the memory limit.
type limitWriter struct {
	b   strings.Builder
	max int
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if w.b.Len()+len(p) > w.max {
		return 0, errTooLarge
	}
	return w.b.Write(p)
}

// toError turns a text/template error into an *Error. Both location forms
// are handled: "template: NAME:LINE:COL: executing ..." (execution) and
// "template: NAME:LINE: ..." (parse).
func toError(name string, err error, secrets map[string]string) *Error {
	msg := err.Error()
	e := &Error{}
	prefix := "template: " + name + ":"
	rest, ok := strings.CutPrefix(msg, prefix)
	if ok {
		if line, r, found := cutNumber(rest); found {
			e.Line, rest = line, r
			if col, r2, found := cutNumber(rest); found {
				e.Column, rest = col+1, r2 // text/template counts columns from 0
			}
			rest = strings.TrimPrefix(rest, " ")
		} else {
			rest = strings.TrimPrefix(rest, " ")
		}
		msg = rest
	} else if m := genericLocRE.FindStringSubmatchIndex(msg); m != nil {
		e.Line, _ = strconv.Atoi(msg[m[2]:m[3]])
		if m[4] >= 0 {
			c, _ := strconv.Atoi(msg[m[4]:m[5]])
			e.Column = c + 1
		}
		msg = msg[m[1]:]
	} else {
		msg = strings.TrimPrefix(msg, "template: ")
	}
	e.Reason = Mask(msg, secrets)
	return e
}

// cutNumber reads "DIGITS:" from the start of s.
func cutNumber(s string) (int, string, bool) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(s) || s[i] != ':' {
		return 0, s, false
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil {
		return 0, s, false
	}
	return n, s[i+1:], true
}

// Mask replaces every non-empty secret value (and the standard base64
// encoding of values of at least 4 bytes, since templates commonly b64enc
// secrets) occurring in s by "***". All occurrences of all values are
// located in the original string before anything is replaced, so a value
// containing another, or two overlapping values, are masked whole; a run of
// adjacent masked bytes becomes a single "***".
func Mask(s string, secrets map[string]string) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	needles := make([]string, 0, 2*len(secrets))
	for _, v := range secrets {
		if v == "" {
			continue
		}
		needles = append(needles, v)
		if len(v) >= 4 {
			needles = append(needles, base64.StdEncoding.EncodeToString([]byte(v)))
		}
	}
	if len(needles) == 0 {
		return s
	}
	// Longest first only matters for determinism of the loop below; the
	// covered set is the union either way.
	sort.Slice(needles, func(i, j int) bool {
		if len(needles[i]) != len(needles[j]) {
			return len(needles[i]) > len(needles[j])
		}
		return needles[i] < needles[j]
	})
	var covered []bool
	for _, n := range needles {
		for from := 0; from < len(s); {
			i := strings.Index(s[from:], n)
			if i < 0 {
				break
			}
			if covered == nil {
				covered = make([]bool, len(s))
			}
			start := from + i
			for k := start; k < start+len(n); k++ {
				covered[k] = true
			}
			from = start + 1 // overlapping occurrences too
		}
	}
	if covered == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if !covered[i] {
			b.WriteByte(s[i])
			continue
		}
		b.WriteString("***")
		for i+1 < len(s) && covered[i+1] {
			i++
		}
	}
	return b.String()
}

// SecretKeys lists the secret keys text references, so a preview can render
// with placeholder values and a source can check its Secret holds every key
// before publishing. It finds .Secrets.KEY and $.Secrets.KEY chains,
// fields of the dot inside {{with .Secrets}}, index .Secrets "KEY" and
// secret "KEY" with a literal argument; keys chosen at execution time
// (secret $name, range over .Secrets) cannot be known statically.
func SecretKeys(text string, opts Options) ([]string, error) {
	const name = "secretkeys"
	t, err := parseTemplate(name, text, opts, funcs(nil))
	if err != nil {
		return nil, toError(name, err, nil)
	}
	found := map[string]bool{}
	for _, tt := range t.Templates() {
		if tt.Tree != nil && tt.Tree.Root != nil {
			walkKeys(tt.Tree.Root, false, found)
		}
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// walkKeys collects keys below n; dotIsSecrets says whether "." is the
// Secrets map there (inside {{with .Secrets}}).
func walkKeys(n parse.Node, dotIsSecrets bool, found map[string]bool) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walkKeys(c, dotIsSecrets, found)
		}
	case *parse.ActionNode:
		walkKeys(n.Pipe, dotIsSecrets, found)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walkKeys(c, dotIsSecrets, found)
		}
	case *parse.CommandNode:
		if len(n.Args) >= 2 {
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok {
				switch id.Ident {
				case "secret":
					if s, ok := n.Args[1].(*parse.StringNode); ok {
						found[s.Text] = true
					}
				case "index":
					if len(n.Args) >= 3 && isSecretsMap(n.Args[1], dotIsSecrets) {
						if s, ok := n.Args[2].(*parse.StringNode); ok {
							found[s.Text] = true
						}
					}
				}
			}
		}
		for _, a := range n.Args {
			walkKeys(a, dotIsSecrets, found)
		}
	case *parse.FieldNode:
		if len(n.Ident) >= 2 && n.Ident[0] == "Secrets" {
			found[n.Ident[1]] = true
		} else if dotIsSecrets && len(n.Ident) >= 1 {
			found[n.Ident[0]] = true
		}
	case *parse.VariableNode:
		if len(n.Ident) >= 3 && n.Ident[0] == "$" && n.Ident[1] == "Secrets" {
			found[n.Ident[2]] = true
		}
	case *parse.ChainNode:
		walkKeys(n.Node, dotIsSecrets, found)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, dotIsSecrets, false, found)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, dotIsSecrets, false, found)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, dotIsSecrets, isSecretsMap(pipeValue(n.Pipe), dotIsSecrets), found)
	case *parse.TemplateNode:
		walkKeys(n.Pipe, dotIsSecrets, found)
	}
}

func walkBranch(b *parse.BranchNode, dotIsSecrets, bodyDotIsSecrets bool, found map[string]bool) {
	walkKeys(b.Pipe, dotIsSecrets, found)
	if b.List != nil {
		walkKeys(b.List, bodyDotIsSecrets, found)
	}
	if b.ElseList != nil {
		walkKeys(b.ElseList, dotIsSecrets, found)
	}
}

// pipeValue returns the single argument of a one-command pipeline without
// declarations, i.e. what {{with X}} sets the dot to when X is a plain value.
func pipeValue(p *parse.PipeNode) parse.Node {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return nil
	}
	return p.Cmds[0].Args[0]
}

func isSecretsMap(n parse.Node, dotIsSecrets bool) bool {
	switch n := n.(type) {
	case *parse.FieldNode:
		return len(n.Ident) == 1 && n.Ident[0] == "Secrets"
	case *parse.VariableNode:
		return len(n.Ident) == 2 && n.Ident[0] == "$" && n.Ident[1] == "Secrets"
	case *parse.DotNode:
		return dotIsSecrets
	}
	return false
}
