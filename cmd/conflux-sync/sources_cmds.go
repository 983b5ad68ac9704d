package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/conflux-sync/conflux-sync/api"
)

// gitSource is a GitSource with its decoded spec and status.
type gitSource struct {
	Name   string              `json:"name"`
	Spec   api.GitSourceSpec   `json:"spec"`
	Status api.GitSourceStatus `json:"status"`
}

func decodeGitSource(s api.Source) gitSource {
	out := gitSource{Name: s.Source.Name}
	_ = json.Unmarshal(s.Spec, &out.Spec)
	_ = json.Unmarshal(s.Status, &out.Status)
	return out
}

func gitSourceRef(name string) api.SourceRef {
	return api.SourceRef{Kind: api.SourceKindGit, Name: name}
}

// gitSource returns the API client and the GitSource named name.
func (g *globalOptions) gitSource(ctx context.Context, name string) (*api.Client, api.Source, error) {
	c, err := g.client()
	if err != nil {
		return nil, api.Source{}, err
	}
	s, err := findGitSource(ctx, c, name)
	return c, s, err
}

// sourcesOfKind lists the registered sources of one kind: the API lists
// every kind together, and each listing command shows only its own.
func (g *globalOptions) sourcesOfKind(ctx context.Context, kind string) ([]api.Source, error) {
	c, err := g.client()
	if err != nil {
		return nil, err
	}
	all, err := c.ListSources(ctx)
	if err != nil {
		return nil, err
	}
	var of []api.Source
	for _, s := range all {
		if s.Source.Kind == kind {
			of = append(of, s)
		}
	}
	return of, nil
}

// findGitSource reads one GitSource; an error when it is not registered.
func findGitSource(ctx context.Context, c *api.Client, name string) (api.Source, error) {
	all, err := c.ListSources(ctx)
	if err != nil {
		return api.Source{}, err
	}
	for _, s := range all {
		if s.Source == gitSourceRef(name) {
			return s, nil
		}
	}
	return api.Source{}, fmt.Errorf("no Git source %q (conflux-sync sources ls lists them)", name)
}

func newSourcesCmd(g *globalOptions) *cobra.Command {
	sources := &cobra.Command{
		Use:     "sources",
		Aliases: []string{"source"},
		Short:   "Register Git repositories whose ConfluxConfig files are published to Conflux",
		Long: `A Git source is polled by the leader: when its ref moves, the ConfluxConfig files
under its path are rendered and replace the source's conflux.Config fragments in one
raft entry. Credentials and the files' secretsRef are read on the servers from
--secrets-dir/<name>/<key>; no secret value is ever sent to or stored by the cluster.
In Kubernetes, a ConfluxSource object does the same (see docs/gitops.md).`,
	}

	var spec api.GitSourceSpec
	var noPrune bool
	add := &cobra.Command{
		Use:   "add NAME --url URL",
		Short: "Register or update a Git source",
		Example: `  conflux-sync sources add app-configs --url https://git.example.com/team/configs.git \
      --branch main --path conflux --tenant team-a --secret-ref git-credentials --interval 1m`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if noPrune {
				spec.Prune = new(bool)
			}
			if err := spec.Validate(); err != nil {
				return usageError{err}
			}
			raw, err := json.Marshal(spec)
			if err != nil {
				return err
			}
			res, err := c.PutSource(cmd.Context(), api.Source{Source: gitSourceRef(args[0]), Spec: raw})
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				if res.Changed == 0 {
					fmt.Fprintf(tw, "Git source %s unchanged\n", args[0])
					return
				}
				fmt.Fprintf(tw, "Git source %s registered at index %d; the leader polls it now (conflux-sync sources get %s)\n", args[0], res.Index, args[0])
			})
		},
	}
	f := add.Flags()
	f.StringVar(&spec.URL, "url", "", "repository URL: https://, ssh:// or user@host:path (http://, git:// and file:// only where the server allows them); never with credentials in it: use --secret-ref")
	f.StringVar(&spec.Ref.Branch, "branch", "", "branch to follow (default main)")
	f.StringVar(&spec.Ref.Tag, "tag", "", "tag to sync (wins over --branch)")
	f.StringVar(&spec.Ref.Commit, "commit", "", "commit to sync (wins over --tag and --branch)")
	f.StringVar(&spec.Interval, "interval", "", "poll interval (default 1m, at least 5s)")
	f.StringVar(&spec.Timeout, "timeout", "", "timeout of one Git operation (default 60s)")
	f.StringVar(&spec.Path, "path", "", "folder of the repository to scan (default the root)")
	f.StringVar(&spec.SecretRef, "secret-ref", "", "secret of the servers' --secrets-dir with the Git credentials")
	f.StringVar(&spec.Tenant, "tenant", "", "Conflux tenant of files without metadata.namespace")
	f.BoolVar(&spec.Suspend, "suspend", false, "register without polling (what was published stays)")
	f.BoolVar(&noPrune, "no-prune", false, "keep the config of a file deleted from Git")
	_ = add.MarkFlagRequired("url")

	ls := &cobra.Command{
		Use:   "ls",
		Short: "List Git sources with their last commit and readiness",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := g.sourcesOfKind(cmd.Context(), api.SourceKindGit)
			if err != nil {
				return err
			}
			list := []gitSource{}
			for _, s := range all {
				list = append(list, decodeGitSource(s))
			}
			return g.print(cmd.OutOrStdout(), list, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "NAME\tURL\tREF\tREADY\tCOMMIT\tCONFIGS\tMESSAGE")
				for _, s := range list {
					ready, msg := readyOf(s.Status)
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", s.Name, s.Spec.URL, refString(s.Spec.Ref), ready,
						orDash(shortCommit(s.Status.LastSyncedCommit)), len(s.Status.Inventory), msg)
				}
			})
		},
	}

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show a Git source: spec, conditions, inventory and failing files",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, s, err := g.gitSource(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			gs := decodeGitSource(s)
			return g.print(cmd.OutOrStdout(), gs, func(tw *tabwriter.Writer) { printGitSource(tw, gs) })
		},
	}

	rm := &cobra.Command{
		Use:   "rm NAME",
		Short: "Remove a Git source and its fragments (the configs it created are deleted from Conflux)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.DeleteSource(cmd.Context(), gitSourceRef(args[0]))
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "Git source %s removed (%d rows)\n", args[0], res.Changed)
			})
		},
	}

	var wait time.Duration
	reconcile := &cobra.Command{
		Use:   "reconcile NAME",
		Short: "Poll a Git source now and wait until the leader handled it; a failed poll fails at once with its error",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, s, err := g.gitSource(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			gs := decodeGitSource(s)
			gs.Spec.RequestedAt = time.Now().UTC().Format(time.RFC3339Nano)
			raw, err := json.Marshal(gs.Spec)
			if err != nil {
				return err
			}
			if _, err := c.PutSource(cmd.Context(), api.Source{Source: s.Source, Spec: raw}); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), wait)
			defer cancel()
			for {
				cur, err := findGitSource(ctx, c, args[0])
				if err == nil {
					if gs = decodeGitSource(cur); gs.Status.LastHandledReconcileAt == gs.Spec.RequestedAt && (!reconciling(gs.Status) || pollFailed(gs.Status)) {
						break
					}
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("the leader did not finish polling %s within %s", args[0], wait)
				case <-time.After(250 * time.Millisecond):
				}
			}
			if err := g.print(cmd.OutOrStdout(), gs, func(tw *tabwriter.Writer) { printGitSource(tw, gs) }); err != nil {
				return err
			}
			if ready, msg := readyOf(gs.Status); ready != "True" {
				return errors.New(msg)
			}
			return nil
		},
	}
	reconcile.Flags().DurationVar(&wait, "timeout", 2*time.Minute, "how long to wait for the poll and the publish")

	var bind api.GitCredentialsSpec
	var bindNamespace string
	bindSecret := &cobra.Command{
		Use:   "bind-secret SECRET --host HOST [--host HOST]",
		Short: "Set the hosts the Git credentials of a Secret may be sent to (admin token)",
		Long: `The credentials of a Secret named by a Git source's secretRef are sent to the
hosts it is bound to and nowhere else. A Secret is bound when it is first used (to
that source's host); registering a source with an unbound Secret needs an admin
token. bind-secret replaces the hosts: list every host the credentials are for.`,
		Example: `  conflux-sync sources bind-secret git-credentials --host github.com
  conflux-sync sources bind-secret team-git --namespace team-a --host gitlab.example.com --host *.git.example.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := bind.Validate(); err != nil {
				return usageError{err}
			}
			raw, err := json.Marshal(bind)
			if err != nil {
				return err
			}
			ref := api.SourceRef{Kind: api.SourceKindGitCredentials, Namespace: bindNamespace, Name: args[0]}
			res, err := c.PutSource(cmd.Context(), api.Source{Source: ref, Spec: raw})
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "%s: Git credentials bound to %s\n", api.SecretName{Namespace: bindNamespace, Name: args[0]}, strings.Join(bind.Hosts, ", "))
			})
		},
	}
	bindSecret.Flags().StringSliceVar(&bind.Hosts, "host", nil, "a host the credentials are for (repeat or comma list; a * label matches one label)")
	bindSecret.Flags().StringVar(&bindNamespace, "namespace", "", "the Kubernetes namespace of the Secret (a ConfluxSource's); empty: a secret of the servers' --secrets-dir")
	_ = bindSecret.MarkFlagRequired("host")

	bindings := &cobra.Command{
		Use:   "bindings",
		Short: "List the hosts each Secret's Git credentials are bound to",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			all, err := g.sourcesOfKind(cmd.Context(), api.SourceKindGitCredentials)
			if err != nil {
				return err
			}
			type binding struct {
				Secret api.SecretName `json:"secret"`
				Hosts  []string       `json:"hosts"`
			}
			list := []binding{}
			for _, s := range all {
				var spec api.GitCredentialsSpec
				_ = json.Unmarshal(s.Spec, &spec)
				list = append(list, binding{Secret: api.SecretName{Namespace: s.Source.Namespace, Name: s.Source.Name}, Hosts: spec.Hosts})
			}
			return g.print(cmd.OutOrStdout(), list, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "NAMESPACE\tSECRET\tHOSTS")
				for _, b := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", orDash(b.Secret.Namespace), b.Secret.Name, strings.Join(b.Hosts, ", "))
				}
			})
		},
	}

	sources.AddCommand(add, ls, get, rm, reconcile, bindSecret, bindings)
	return sources
}

func readyOf(st api.GitSourceStatus) (status, message string) {
	for _, c := range st.Conditions {
		if c.Type == "Ready" {
			return c.Status, c.Message
		}
	}
	return "Unknown", "not polled yet"
}

// pollFailed reports whether the last poll itself failed (the repository
// unreachable, a refused URL, bad credentials...): the leader retries only
// at the next interval, so waiting for it is pointless. A config waiting
// for (or retrying) its publish is not a failed poll.
func pollFailed(st api.GitSourceStatus) bool {
	var ready, stalled, retrying bool
	for _, c := range st.Conditions {
		switch c.Type {
		case "Ready":
			ready = c.Status == "False"
		case "Stalled":
			stalled = c.Status == "True"
		case "Reconciling":
			retrying = c.Reason == "ProgressingWithRetry"
		}
	}
	return ready && (stalled || retrying)
}

func reconciling(st api.GitSourceStatus) bool {
	for _, c := range st.Conditions {
		if c.Type == "Reconciling" {
			return c.Status == "True"
		}
	}
	return true
}

func refString(r api.GitRef) string {
	switch {
	case r.Commit != "":
		return "commit " + shortCommit(r.Commit)
	case r.Tag != "":
		return "tag " + r.Tag
	case r.Branch != "":
		return r.Branch
	}
	return api.DefaultGitBranch
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func printGitSource(tw *tabwriter.Writer, s gitSource) {
	fmt.Fprintf(tw, "Name:\t%s\nURL:\t%s\nRef:\t%s\nPath:\t%s\nSuspended:\t%v\nPrune:\t%v\n", s.Name, s.Spec.URL, refString(s.Spec.Ref), orDash(s.Spec.Path), s.Spec.Suspend, s.Spec.PruneEnabled())
	fmt.Fprintf(tw, "Last synced commit:\t%s\nLast attempted commit:\t%s\n\n", orDash(s.Status.LastSyncedCommit), orDash(s.Status.LastAttemptedCommit))
	fmt.Fprintln(tw, "CONDITION\tSTATUS\tREASON\tMESSAGE")
	for _, c := range s.Status.Conditions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, c.Message)
	}
	if len(s.Status.Inventory) > 0 {
		fmt.Fprintln(tw, "\nCONFIG\tFILE\tRELEASE\tSHA256\tVERSION")
		for _, e := range s.Status.Inventory {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.Config, orDash(e.File), e.Release, shortHash(e.ContentSHA256), orDash(e.VersionID))
		}
	}
	if len(s.Status.FileErrors) > 0 {
		fmt.Fprintf(tw, "\nFailing files:\n  %s\n", strings.Join(s.Status.FileErrors, "\n  "))
	}
}
