package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/conflux-sync/conflux-sync/api"
	"github.com/conflux-sync/conflux-sync/ingest/git"
	"github.com/conflux-sync/conflux-sync/render"
)

func newGitopsCmd(g *globalOptions) *cobra.Command {
	gitops := &cobra.Command{
		Use:   "gitops",
		Short: "Render ConfluxConfig files locally: for a CI job on a pull request",
		Long: `build renders the ConfluxConfig files of a folder exactly as the leader would and
prints the configs they publish; diff compares them with what a registered source
publishes now. Neither needs the Secrets: every secret value renders as *** (with
--secrets-dir the real values are used for the hashes and still masked in the output).`,
	}
	var tenant, secretsDir, path string
	build := &cobra.Command{
		Use:   "build DIR",
		Short: "Render the ConfluxConfig files under DIR and print the configs (secrets masked)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := git.ReadDir(args[0], path)
			if err != nil {
				return err
			}
			in := git.BuildInput{Files: files, DefaultTenant: tenant, Prune: true}
			if secretsDir != "" {
				in.Secrets = dirSecrets(secretsDir)
			}
			built := git.Build(cmd.Context(), in)
			out := buildOutput(built)
			if err := g.print(cmd.OutOrStdout(), out, func(tw *tabwriter.Writer) { printBuild(tw, out) }); err != nil {
				return err
			}
			if len(built.Problems) > 0 {
				return fmt.Errorf("%d files failed", len(built.Problems))
			}
			return nil
		},
	}
	build.Flags().StringVar(&tenant, "tenant", "", "Conflux tenant of files without metadata.namespace")
	build.Flags().StringVar(&secretsDir, "secrets-dir", "", "render with the secrets of this folder (<name>/<key> files); values stay masked in the output")
	build.Flags().StringVar(&path, "path", "", "folder under DIR to scan; give DIR as the repository root and the source's path here, so files are named as in the repository")

	var sourceName string
	var exitCode bool
	diff := &cobra.Command{
		Use:   "diff --source NAME [DIR]",
		Short: "Show what the files under DIR would change in Conflux compared with what a source publishes now",
		Example: `  # in a CI job of the configuration repository:
  conflux-sync gitops diff --source app-configs . --exit-code`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			ref := gitSourceRef(sourceName)
			if strings.Contains(sourceName, "/") {
				if ref, err = parseSource(sourceName); err != nil {
					return err
				}
			}
			prune, scan, defTenant := true, path, tenant
			if ref.Kind == api.SourceKindGit {
				s, err := findGitSource(cmd.Context(), c, ref.Name)
				if err != nil {
					return err
				}
				spec := decodeGitSource(s).Spec
				prune = spec.PruneEnabled()
				if scan == "" {
					scan = spec.Path
				}
				if defTenant == "" {
					defTenant = spec.Tenant
				}
			} else if defTenant == "" {
				defTenant = ref.Namespace
			}
			files, err := git.ReadDir(dir, scan)
			if err != nil {
				return err
			}
			live, err := c.ListFragments(cmd.Context(), api.TargetRef{}, ref)
			if err != nil {
				return err
			}
			built := git.Build(cmd.Context(), git.BuildInput{Files: files, DefaultTenant: defTenant, SecretNamespace: ref.Namespace, Previous: live, Prune: prune})
			changes := diffFragments(live, built)
			if err := g.print(cmd.OutOrStdout(), changes, func(tw *tabwriter.Writer) { printChanges(tw, changes, built) }); err != nil {
				return err
			}
			if len(built.Problems) > 0 {
				return fmt.Errorf("%d files failed", len(built.Problems))
			}
			if exitCode && len(changes) > 0 {
				return fmt.Errorf("%d configs would change", len(changes))
			}
			return nil
		},
	}
	diff.Flags().StringVar(&sourceName, "source", "", "the Git source (NAME, or ConfluxSource/NAMESPACE/NAME)")
	diff.Flags().StringVar(&tenant, "tenant", "", "Conflux tenant of files without metadata.namespace (default: the source's)")
	diff.Flags().StringVar(&path, "path", "", "folder under DIR to scan (default: the source's path)")
	diff.Flags().BoolVar(&exitCode, "exit-code", false, "exit with status 1 when something would change")
	_ = diff.MarkFlagRequired("source")

	gitops.AddCommand(build, diff)
	return gitops
}

// dirSecrets reads secrets as the server's --secrets-dir does.
type dirSecrets string

func (d dirSecrets) Secret(_ context.Context, name api.SecretName) (map[string]string, error) {
	return git.ReadSecretDir(string(d), name.Name)
}

// builtConfig is one config of a build, for printing.
type builtConfig struct {
	Config        string `json:"config"`
	File          string `json:"file"`
	Release       string `json:"release"`
	ContentSHA256 string `json:"contentSha256"`
	// Content is the rendering with every secret value masked.
	Content string `json:"content"`
}

type buildResult struct {
	Configs  []builtConfig `json:"configs"`
	Problems []string      `json:"problems"`
}

func buildOutput(b git.Built) buildResult {
	out := buildResult{Configs: []builtConfig{}, Problems: []string{}}
	for _, e := range b.Inventory {
		out.Configs = append(out.Configs, builtConfig{Config: e.Config, File: e.File, Release: e.Release, ContentSHA256: e.ContentSHA256, Content: b.Rendered[e.Release]})
	}
	for _, p := range b.Problems {
		out.Problems = append(out.Problems, p.Error())
	}
	return out
}

func printBuild(tw *tabwriter.Writer, out buildResult) {
	for _, c := range out.Configs {
		fmt.Fprintf(tw, "# %s (from %s, release %s, sha256 %s)\n", c.Config, c.File, c.Release, shortHash(c.ContentSHA256))
		fmt.Fprintln(tw, indentText(c.Content, "  "))
	}
	if len(out.Problems) > 0 {
		fmt.Fprintf(tw, "Failing files:\n  %s\n", strings.Join(out.Problems, "\n  "))
	}
}

// change is one config a diff found different.
type change struct {
	Config string `json:"config"`
	// Action is add, change or remove.
	Action string `json:"action"`
	// Diff is a unified diff of the contents (secrets masked) and of the
	// metadata and policy.
	Diff string `json:"diff"`
}

// diffFragments compares the live fragments of a source with a local
// build, release by release; secret values are masked on both sides, so
// only template and plain-content changes show.
func diffFragments(live []api.Fragment, built git.Built) []change {
	liveSpecs := map[string]api.ConfluxConfigSpec{}
	for _, f := range live {
		var s api.ConfluxConfigSpec
		if f.Target.Kind == api.KindConfluxConfig && json.Unmarshal(f.Spec, &s) == nil {
			liveSpecs[f.Target.Name] = s
		}
	}
	localSpecs := map[string]api.ConfluxConfigSpec{}
	for _, f := range built.Fragments {
		var s api.ConfluxConfigSpec
		if json.Unmarshal(f.Spec, &s) == nil {
			localSpecs[f.Target.Name] = s
		}
	}
	names := slices.Sorted(maps.Keys(liveSpecs))
	for name := range localSpecs {
		if _, ok := liveSpecs[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var out []change
	for _, name := range names {
		before, inLive := liveSpecs[name]
		after, inLocal := localSpecs[name]
		text := unifiedDiff(specText(before, nil), specText(after, built.Rendered))
		switch {
		case !inLive:
			out = append(out, change{Config: name, Action: "add", Diff: text})
		case !inLocal:
			out = append(out, change{Config: name, Action: "remove", Diff: text})
		case text != "":
			out = append(out, change{Config: name, Action: "change", Diff: text})
		}
	}
	return out
}

// specText is a config fragment as reviewable text: metadata, policy and
// each release's content with secrets masked.
func specText(s api.ConfluxConfigSpec, rendered map[string]string) []string {
	var lines []string
	if s.Config != nil {
		b, _ := json.Marshal(s.Config)
		lines = append(lines, "config: "+string(b))
	}
	if s.Policy != nil {
		b, _ := json.Marshal(s.Policy)
		lines = append(lines, "policy: "+string(b))
	}
	for _, r := range s.Releases {
		lines = append(lines, fmt.Sprintf("release %s (stable: %v, description: %q):", r.Name, r.Stable, r.Description))
		content, ok := rendered[r.Name]
		if !ok {
			content = maskedContent(r)
		}
		for _, l := range strings.Split(strings.TrimSuffix(content, "\n"), "\n") {
			lines = append(lines, "  "+l)
		}
	}
	return lines
}

// maskedContent renders a stored release with every secret as ***.
func maskedContent(r api.ConfluxRelease) string {
	t := r.Template
	if t == nil {
		return r.Content
	}
	opts := render.Options{LeftDelim: t.LeftDelim, RightDelim: t.RightDelim}
	keys, err := render.SecretKeys(t.Text, opts)
	if err != nil {
		return t.Text
	}
	values := map[string]string{}
	for _, k := range keys {
		values[k] = git.MaskedValue
	}
	out, err := render.Render(r.Name, t.Text, values, opts)
	if err != nil {
		return t.Text
	}
	return out
}

func printChanges(tw *tabwriter.Writer, changes []change, built git.Built) {
	if len(changes) == 0 {
		fmt.Fprintf(tw, "no changes: %d configs are up to date\n", len(built.Fragments))
	}
	sign := map[string]string{"add": "+", "change": "~", "remove": "-"}
	for _, c := range changes {
		fmt.Fprintf(tw, "%s %s (%s)\n%s\n", sign[c.Action], c.Config, c.Action, indentText(c.Diff, "    "))
	}
	if len(built.Problems) > 0 {
		fmt.Fprintln(tw, "Failing files (their live releases are kept):")
		for _, p := range built.Problems {
			fmt.Fprintf(tw, "  %s\n", p.Error())
		}
	}
}

func indentText(s, prefix string) string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return ""
	}
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}

// unifiedDiff is a line diff in unified style (no context limit: configs
// are short); "" when the texts are equal.
func unifiedDiff(a, b []string) string {
	if slices.Equal(a, b) {
		return ""
	}
	// Longest common subsequence by dynamic programming; configs are
	// small, and a huge pair falls back to "all removed, all added".
	n, m := len(a), len(b)
	var sb strings.Builder
	if n*m > 4_000_000 {
		for _, l := range a {
			sb.WriteString("-" + l + "\n")
		}
		for _, l := range b {
			sb.WriteString("+" + l + "\n")
		}
		return sb.String()
	}
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			sb.WriteString(" " + a[i] + "\n")
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			sb.WriteString("+" + b[j] + "\n")
			j++
		default:
			sb.WriteString("-" + a[i] + "\n")
			i++
		}
	}
	return sb.String()
}
