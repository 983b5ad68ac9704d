// Package manifest parses ConfluxConfig documents found in Git
// repositories.
//
// Repositories hold all kinds of YAML, so documents of other kinds are
// skipped silently; but a document that claims to be a ConfluxConfig is
// checked strictly (unknown fields, wrong types, Conflux's own limits) and
// every mistake is reported with its file line, because the only feedback a
// repository author gets is the source's status, long after the push.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/render"
)

const (
	// APIVersion and Kind identify a ConfluxConfig document.
	APIVersion = "gitops.conflux.io/v1alpha1"
	Kind       = "ConfluxConfig"

	// MaxDocument bounds one YAML document; the template it carries may be
	// at most MaxContent anyway, so a larger document is a mistake.
	MaxDocument = 1 << 20
	// MaxContent is Conflux's content limit (sync/conflux.MaxContent).
	MaxContent = 1 << 20

	maxDescription = 1024
)

// The same rules as sync/conflux, so that a config passing here is not
// rejected only later, on the leader, far from the file that caused it.
var (
	segmentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$`)
	// secretNameRE is a Kubernetes object name (DNS subdomain); checking it
	// here reports a typo at its line instead of as a failed Secret read.
	secretNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	yamlErrRE    = regexp.MustCompile(`^yaml: line (\d+): `)
)

// formats are the Conflux formats, in the order error messages list them.
const formats = "json, yaml, toml, properties, text"

func validFormat(f string) bool {
	switch f {
	case "json", "yaml", "toml", "properties", "text":
		return true
	}
	return false
}

// ParseOptions configures ParseFile.
type ParseOptions struct {
	// DefaultTenant is the tenant of documents without metadata.namespace;
	// typically the ConfluxSource's own setting.
	DefaultTenant string
}

// ConfluxConfig is one validated ConfluxConfig document.
type ConfluxConfig struct {
	// Path is the file, slash-separated, relative to the scanned root.
	Path string
	// Line is the file line of the document's first key.
	Line int

	Tenant, Application, Environment, Name string
	Format, Description                    string
	// Schema is compact JSON with sorted keys, so that an unchanged schema
	// always produces the same bytes (and the same content hash).
	Schema          json.RawMessage
	RetentionPolicy *api.ConfluxRetentionPolicy

	Template string
	// TemplateLine is the file line of the template's first line, so that
	// template errors can point into the file (see FileLine).
	TemplateLine int
	Delims       render.Options
	// SecretsRef is the name of a Secret in the source's namespace; empty
	// when the template uses no secrets.
	SecretsRef string
	Release    Release
}

// Release describes how the rendered content is released.
type Release struct {
	Stable      bool
	Labels      map[string]string
	Priority    int
	Description string
}

// Key returns "tenant/application/environment/name", the conflux.Config
// target name, so two documents writing one Conflux config can be detected.
func (c ConfluxConfig) Key() string {
	return c.Tenant + "/" + c.Application + "/" + c.Environment + "/" + c.Name
}

// FileLine maps a template error to the file line, so that the author is
// pointed at the line in the YAML file rather than inside the template.
func (c ConfluxConfig) FileLine(e *render.Error) int {
	if e == nil || e.Line <= 0 {
		return c.TemplateLine
	}
	return c.TemplateLine + e.Line - 1
}

// Problem is one thing wrong with one file.
type Problem struct {
	Path string
	// Line is the file line (1-based); 0 when unknown.
	Line int
	// Field is the YAML path, like "spec.release.labels.canary".
	Field  string
	Reason string
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.Path)
	if p.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
	}
	if p.Field != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(p.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// ParseFile parses one file. Every config it returns passed validation; a
// bad document yields Problems instead, and does not stop the others.
func ParseFile(path string, data []byte, opts ParseOptions) ([]ConfluxConfig, []Problem) {
	path = filepath.ToSlash(path)
	lower := strings.ToLower(path)
	isYAML := strings.HasSuffix(lower, ".yaml") || strings.HasSuffix(lower, ".yml")
	var (
		configs  []ConfluxConfig
		problems []Problem
		seen     = map[string]int{} // Key -> line
	)
	for _, seg := range splitDocuments(data) {
		dec := yaml.NewDecoder(bytes.NewReader(seg.data))
		for {
			var root yaml.Node
			err := dec.Decode(&root)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				if isYAML {
					problems = append(problems, yamlProblem(path, seg.start, err))
				}
				break // the decoder cannot resume after a syntax error
			}
			p := &parser{path: path, offset: seg.start - 1}
			c, ok := p.document(&root, len(seg.data), opts)
			if !ok {
				continue
			}
			if len(p.problems) == 0 {
				if line, dup := seen[c.Key()]; dup {
					p.report(c.Line, "metadata.name", fmt.Sprintf("%s is also defined by the document at line %d", c.Key(), line))
				} else {
					seen[c.Key()] = c.Line
				}
			}
			if len(p.problems) > 0 {
				problems = append(problems, p.problems...)
				continue
			}
			configs = append(configs, c)
		}
	}
	return configs, problems
}

func yamlProblem(path string, start int, err error) Problem {
	msg := err.Error()
	line := 0
	n := 0
	if m := yamlErrRE.FindStringSubmatch(msg); m != nil {
		n, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	// yaml.v3 counts lines from 0 for parser errors (and then omits line 0)
	// but from 1 for scanner errors; parser errors are the "did not find
	// expected ..." ones. The line is where the enclosing construct starts.
	if strings.HasPrefix(msg, "did not find expected") {
		n++
	}
	if n > 0 {
		line = start + n - 1
	}
	return Problem{Path: path, Line: line, Reason: "is not valid YAML: " + msg}
}

// segment is one YAML document's text; start is the file line of its first
// line.
type segment struct {
	start int
	data  []byte
}

// splitDocuments cuts data at "---" lines so that each document is decoded
// on its own: a syntax error then costs only its own document, and the size
// of each document is known. A "---" at the start of a line always starts a
// document in YAML, even inside a block scalar, so the cut is exact.
// Leading comments and directives stay with the document they precede.
func splitDocuments(data []byte) []segment {
	var segs []segment
	cur := segment{start: 1}
	curStart := 0
	onlyPreamble := true
	line := 1
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := len(data)
		if end >= 0 {
			next = off + end + 1
		}
		l := data[off:next]
		if isDocStart(l) && !onlyPreamble {
			cur.data = data[curStart:off]
			segs = append(segs, cur)
			cur = segment{start: line}
			curStart = off
			onlyPreamble = true
		}
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' && t[0] != '%' && !isDocStart(l) {
			onlyPreamble = false
		}
		off = next
		line++
	}
	cur.data = data[curStart:]
	return append(segs, cur)
}

func isDocStart(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	return len(l) == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r' || l[3] == '\n'
}

// parser validates one document, collecting every problem rather than
// stopping at the first, so one push can fix them all.
type parser struct {
	path     string
	offset   int // file lines before the document's segment
	problems []Problem
}

func (p *parser) line(n *yaml.Node) int {
	if n == nil || n.Line == 0 {
		return 0
	}
	return n.Line + p.offset
}

func (p *parser) report(line int, field, reason string) {
	p.problems = append(p.problems, Problem{Path: p.path, Line: line, Field: field, Reason: reason})
}

func (p *parser) problem(n *yaml.Node, field, reason string) {
	p.report(p.line(n), field, reason)
}

// entry is one key of a mapping.
type entry struct {
	key, val *yaml.Node
}

// mapping is a checked YAML mapping: at is the node that introduced it
// (its key, or the first key for the document root), used for problems
// about missing fields.
type mapping struct {
	at     *yaml.Node
	path   string
	fields map[string]entry
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mapping checks that n is a mapping with only known keys, each at most
// once. It returns ok=false when n is not a mapping at all.
func (p *parser) mapping(at, n *yaml.Node, path string, known ...string) (mapping, bool) {
	m := mapping{at: at, path: path, fields: map[string]entry{}}
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		p.problem(orNode(n, at), path, "must be a mapping, not "+describe(n))
		return m, false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.problem(k, path, "keys must be strings, not "+describe(k))
			continue
		}
		f := join(path, k.Value)
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			p.problem(k, f, "merge keys are not supported; write the fields out")
			continue
		}
		if !contains(known, k.Value) {
			p.problem(k, f, "is not a known field (known: "+strings.Join(known, ", ")+")")
			continue
		}
		if prev, dup := m.fields[k.Value]; dup {
			p.problem(k, f, fmt.Sprintf("is set twice (also at line %d)", p.line(prev.key)))
			continue
		}
		m.fields[k.Value] = entry{key: k, val: v}
	}
	return m, true
}

func orNode(n, fallback *yaml.Node) *yaml.Node {
	if n != nil {
		return n
	}
	return fallback
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// describe names a node's YAML type for error messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.ShortTag() {
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	}
	return "a " + strings.TrimPrefix(n.ShortTag(), "!!")
}

// str reads an optional string field; null counts as absent, as it does in
// Kubernetes manifests. YAML turns unquoted true, 10 or 1.0 into other
// types, so those are reported with a hint to quote them.
func (p *parser) str(m mapping, key string, required bool) (string, *yaml.Node) {
	e, ok := m.fields[key]
	f := join(m.path, key)
	if !ok || isNull(e.val) {
		if required {
			if ok {
				p.problem(e.key, f, "is required")
			} else {
				p.problem(m.at, f, "is required")
			}
		}
		return "", nil
	}
	v := deref(e.val)
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		p.problem(v, f, notString(v))
		return "", nil
	}
	if required && v.Value == "" {
		p.problem(v, f, "is required")
		return "", nil
	}
	return v.Value, v
}

func notString(v *yaml.Node) string {
	if v.Kind == yaml.ScalarNode {
		return fmt.Sprintf("must be a string, not %s; quote it (%q)", describe(v), v.Value)
	}
	return "must be a string, not " + describe(v)
}

func (p *parser) integer(m mapping, key string) (int, *yaml.Node, bool) {
	e, ok := m.fields[key]
	if !ok || isNull(e.val) {
		return 0, nil, false
	}
	v := deref(e.val)
	var n int
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Decode(&n) != nil {
		p.problem(v, join(m.path, key), "must be an integer, not "+describe(v))
		return 0, v, false
	}
	return n, v, true
}

func (p *parser) boolean(m mapping, key string) bool {
	e, ok := m.fields[key]
	if !ok || isNull(e.val) {
		return false
	}
	v := deref(e.val)
	var b bool
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!bool" || v.Decode(&b) != nil {
		p.problem(v, join(m.path, key), "must be true or false, not "+describe(v))
		return false
	}
	return b
}

// sub returns the mapping under key; ok=false when it is absent, null or
// not a mapping (the latter reported).
func (p *parser) sub(m mapping, key string, known ...string) (mapping, bool) {
	e, ok := m.fields[key]
	if !ok || isNull(e.val) {
		return mapping{}, false
	}
	return p.mapping(e.key, e.val, join(m.path, key), known...)
}

// document returns ok=false for documents that are not ConfluxConfigs at
// all; problems are in p.problems.
func (p *parser) document(doc *yaml.Node, size int, opts ParseOptions) (ConfluxConfig, bool) {
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return ConfluxConfig{}, false
		}
		root = deref(root.Content[0])
	}
	if root == nil || root.Kind != yaml.MappingNode || len(root.Content) == 0 {
		return ConfluxConfig{}, false
	}
	kind, apiVersion := "", ""
	var apiNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		if v == nil || v.Kind != yaml.ScalarNode {
			continue
		}
		switch k.Value {
		case "kind":
			kind = v.Value
		case "apiVersion":
			apiVersion, apiNode = v.Value, v
		}
	}
	if kind != Kind {
		return ConfluxConfig{}, false
	}
	c := ConfluxConfig{Path: p.path, Line: p.line(root.Content[0])}
	if size > MaxDocument {
		p.report(c.Line, "", "the document is larger than 1 MiB")
		return c, true
	}
	if apiVersion != APIVersion {
		if apiNode == nil {
			p.report(c.Line, "apiVersion", "is required: "+APIVersion)
		} else {
			p.problem(apiNode, "apiVersion", fmt.Sprintf("is %q; this version of conflux-sync reads %s", apiVersion, APIVersion))
		}
		return c, true
	}
	top, _ := p.mapping(root.Content[0], root, "", "apiVersion", "kind", "metadata", "spec")
	if md, ok := p.sub(top, "metadata", "name", "namespace", "labels", "annotations"); ok {
		p.metadata(&c, md, opts)
	} else if _, present := top.fields["metadata"]; !present || isNull(top.fields["metadata"].val) {
		p.report(c.Line, "metadata", "is required")
	}
	spec, ok := p.sub(top, "spec", "application", "environment", "format", "description", "schema",
		"retentionPolicy", "template", "secretsRef", "release")
	if !ok {
		if e, present := top.fields["spec"]; !present || isNull(e.val) {
			p.report(c.Line, "spec", "is required")
		}
		return c, true
	}
	p.spec(&c, spec)
	return c, true
}

func (p *parser) metadata(c *ConfluxConfig, md mapping, opts ParseOptions) {
	var nameNode *yaml.Node
	c.Name, nameNode = p.str(md, "name", true)
	if nameNode != nil && !nameRE.MatchString(c.Name) {
		p.problem(nameNode, "metadata.name", fmt.Sprintf("%q must match %s", c.Name, nameRE))
	}
	ns, nsNode := p.str(md, "namespace", false)
	switch {
	case nsNode != nil:
		c.Tenant = ns
		if !segmentRE.MatchString(ns) {
			p.problem(nsNode, "metadata.namespace", fmt.Sprintf("%q must match %s", ns, segmentRE))
		}
	case opts.DefaultTenant == "":
		if _, bad := md.fields["namespace"]; !bad || isNull(md.fields["namespace"].val) {
			p.problem(md.at, "metadata.namespace", "is required: the source sets no default tenant")
		}
	default:
		c.Tenant = opts.DefaultTenant
		if !segmentRE.MatchString(c.Tenant) {
			p.problem(md.at, "metadata.namespace", fmt.Sprintf("is not set and the source's default tenant %q does not match %s", c.Tenant, segmentRE))
		}
	}
}

func (p *parser) spec(c *ConfluxConfig, spec mapping) {
	for _, f := range []struct {
		key string
		dst *string
	}{{"application", &c.Application}, {"environment", &c.Environment}} {
		v, n := p.str(spec, f.key, true)
		*f.dst = v
		if n != nil && !segmentRE.MatchString(v) {
			p.problem(n, "spec."+f.key, fmt.Sprintf("%q must match %s", v, segmentRE))
		}
	}

	format, formatNode := p.str(spec, "format", true)
	c.Format = format
	if formatNode != nil && !validFormat(format) {
		p.problem(formatNode, "spec.format", fmt.Sprintf("is %q; must be one of %s", format, formats))
	}

	var descNode *yaml.Node
	c.Description, descNode = p.str(spec, "description", false)
	if descNode != nil && utf8.RuneCountInString(c.Description) > maxDescription {
		p.problem(descNode, "spec.description", "is longer than 1024 characters")
	}

	if e, ok := spec.fields["schema"]; ok && !isNull(e.val) {
		v := deref(e.val)
		switch {
		case format == "text":
			p.problem(e.key, "spec.schema", "is not allowed for a text config")
		case v.Kind == yaml.MappingNode || (v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool"):
			if schema, ok := p.schemaJSON(v, "spec.schema"); ok {
				c.Schema = schema
			}
		default:
			p.problem(v, "spec.schema", "must be a JSON Schema written as a mapping (or true/false), not "+describe(v))
		}
	}

	if rp, ok := p.sub(spec, "retentionPolicy", "strategy", "rules"); ok {
		c.RetentionPolicy = p.retention(rp)
	}

	if tm, ok := p.sub(spec, "template", "content", "delimiters"); ok {
		p.template(c, tm)
	} else if e, present := spec.fields["template"]; !present || isNull(e.val) {
		p.problem(orNode(e.key, spec.at), "spec.template", "is required")
	}

	if sr, ok := p.sub(spec, "secretsRef", "name", "namespace"); ok {
		if e, bad := sr.fields["namespace"]; bad {
			p.problem(e.key, "spec.secretsRef.namespace", "is not allowed: Secrets are read from the source's namespace only")
		}
		name, n := p.str(sr, "name", false)
		if n != nil && name != "" && (len(name) > 253 || !secretNameRE.MatchString(name)) {
			p.problem(n, "spec.secretsRef.name", fmt.Sprintf("%q is not a valid Kubernetes Secret name", name))
		}
		c.SecretsRef = name
	}

	if rel, ok := p.sub(spec, "release", "stable", "labels", "priority", "description"); ok {
		p.release(c, rel)
	}
}

func (p *parser) retention(rp mapping) *api.ConfluxRetentionPolicy {
	out := &api.ConfluxRetentionPolicy{Rules: []api.ConfluxRetentionRule{}}
	strategy, n := p.str(rp, "strategy", true)
	if n != nil && strategy != "AND" && strategy != "OR" {
		p.problem(n, "spec.retentionPolicy.strategy", fmt.Sprintf("is %q; must be AND or OR", strategy))
	}
	out.Strategy = strategy
	e, ok := rp.fields["rules"]
	if !ok || isNull(e.val) {
		return out
	}
	rules := deref(e.val)
	if rules.Kind != yaml.SequenceNode {
		p.problem(rules, "spec.retentionPolicy.rules", "must be a list, not "+describe(rules))
		return out
	}
	for i, rn := range rules.Content {
		f := "spec.retentionPolicy.rules[" + strconv.Itoa(i) + "]"
		r, ok := p.mapping(rn, rn, f, "type", "keep")
		if !ok {
			continue
		}
		typ, tn := p.str(r, "type", true)
		if tn != nil && typ != "count" && typ != "days" {
			p.problem(tn, f+".type", fmt.Sprintf("is %q; must be count or days", typ))
		}
		keep, kn, ok := p.integer(r, "keep")
		switch {
		case kn == nil:
			p.problem(rn, f+".keep", "is required")
		case ok && keep < 1:
			p.problem(kn, f+".keep", "must be at least 1")
		}
		out.Rules = append(out.Rules, api.ConfluxRetentionRule{Type: typ, Keep: keep})
	}
	return out
}

func (p *parser) template(c *ConfluxConfig, tm mapping) {
	content, n := p.str(tm, "content", true)
	if n == nil {
		return
	}
	c.Template = content
	c.TemplateLine = p.line(n)
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		// The node's line is the one with the | or > indicator.
		c.TemplateLine++
	}
	if len(content) > MaxContent {
		p.problem(n, "spec.template.content", "is larger than 1 MiB")
		return
	}

	if de, ok := tm.fields["delimiters"]; ok && !isNull(de.val) {
		d := deref(de.val)
		if d.Kind != yaml.SequenceNode || len(d.Content) != 2 {
			p.problem(d, "spec.template.delimiters", "must be a list of two strings, like [\"<<\", \">>\"]")
			return
		}
		var delims [2]string
		for i, dn := range d.Content {
			dn = deref(dn)
			f := "spec.template.delimiters[" + strconv.Itoa(i) + "]"
			switch {
			case dn.Kind != yaml.ScalarNode || dn.ShortTag() != "!!str":
				p.problem(dn, f, notString(dn))
				return
			case dn.Value == "":
				p.problem(dn, f, "must not be empty")
				return
			case strings.TrimSpace(dn.Value) != dn.Value:
				p.problem(dn, f, "must not start or end with white space")
				return
			}
			delims[i] = dn.Value
		}
		c.Delims = render.Options{LeftDelim: delims[0], RightDelim: delims[1]}
	}

	// Parsing now reports syntax errors at their file line on every push,
	// not only when the leader renders.
	if _, err := render.SecretKeys(content, c.Delims); err != nil {
		var re *render.Error
		if errors.As(err, &re) {
			p.report(c.FileLine(re), "spec.template.content", "is not a valid template: "+re.Reason)
		} else {
			p.problem(n, "spec.template.content", "is not a valid template: "+err.Error())
		}
	}
}

func (p *parser) release(c *ConfluxConfig, rel mapping) {
	c.Release.Stable = p.boolean(rel, "stable")
	if prio, _, ok := p.integer(rel, "priority"); ok {
		c.Release.Priority = prio
	}
	var dn *yaml.Node
	c.Release.Description, dn = p.str(rel, "description", false)
	if dn != nil && utf8.RuneCountInString(c.Release.Description) > maxDescription {
		p.problem(dn, "spec.release.description", "is longer than 1024 characters")
	}
	e, ok := rel.fields["labels"]
	if !ok || isNull(e.val) {
		return
	}
	lm := deref(e.val)
	if lm.Kind != yaml.MappingNode {
		p.problem(lm, "spec.release.labels", "must be a mapping of strings, not "+describe(lm))
		return
	}
	labels := map[string]string{}
	for i := 0; i+1 < len(lm.Content); i += 2 {
		k, v := deref(lm.Content[i]), deref(lm.Content[i+1])
		f := "spec.release.labels." + k.Value
		switch {
		case k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str":
			p.problem(k, "spec.release.labels", "label names "+notString(k))
			continue
		case k.Value == "":
			p.problem(k, "spec.release.labels", "label names must not be empty")
			continue
		case v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str":
			p.problem(v, f, notString(v))
			continue
		}
		if _, dup := labels[k.Value]; dup {
			p.problem(k, f, "is set twice")
			continue
		}
		labels[k.Value] = v.Value
	}
	if len(labels) > 0 {
		c.Release.Labels = labels
	}
}

// schemaJSON converts a YAML node to compact JSON. encoding/json sorts map
// keys, which makes the result canonical.
func (p *parser) schemaJSON(n *yaml.Node, field string) (json.RawMessage, bool) {
	v, ok := p.jsonValue(n, field, 0)
	if !ok {
		return nil, false
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		p.problem(n, field, "cannot be converted to JSON: "+err.Error())
		return nil, false
	}
	return json.RawMessage(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), true
}

// jsonValue converts one node; depth bounds alias cycles and absurd nesting.
func (p *parser) jsonValue(n *yaml.Node, field string, depth int) (any, bool) {
	n = deref(n)
	if depth > 100 {
		p.problem(n, field, "is nested too deeply")
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		ok := true
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				p.problem(k, field, "keys must be strings, not "+describe(k))
				ok = false
				continue
			}
			f := field + "." + k.Value
			if _, dup := m[k.Value]; dup {
				p.problem(k, f, "is set twice")
				ok = false
				continue
			}
			v, vok := p.jsonValue(n.Content[i+1], f, depth+1)
			ok = ok && vok
			m[k.Value] = v
		}
		return m, ok
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		ok := true
		for i, c := range n.Content {
			v, vok := p.jsonValue(c, field+"["+strconv.Itoa(i)+"]", depth+1)
			ok = ok && vok
			s = append(s, v)
		}
		return s, ok
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err == nil {
				return b, true
			}
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				return i, true
			}
		case "!!float":
			var f float64
			if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, true
			}
			p.problem(n, field, fmt.Sprintf("%q is not a number JSON can hold", n.Value))
			return nil, false
		default:
			return n.Value, true
		}
		p.problem(n, field, fmt.Sprintf("%q is not a valid %s", n.Value, describe(n)))
		return nil, false
	}
	p.problem(n, field, "cannot be converted to JSON")
	return nil, false
}
