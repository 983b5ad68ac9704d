package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/conflux-sync/conflux-sync/api"
)

func newStatusCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show the cluster as the answering node sees it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), st, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "Cluster:\t%s\nNode:\t%s (%s)\nLeader:\t%s\nTerm:\t%d\nCommit index:\t%d\nApplied index:\t%d\nSecurity:\t%s\n",
					orDash(st.ClusterID), st.NodeID, st.State, orDash(st.Leader), st.Term, st.CommitIndex, st.AppliedIndex, orDash(st.Security))
				for _, u := range st.Untrusted {
					fmt.Fprintf(tw, "Untrusted member:\t%s\n", u)
				}
				fmt.Fprintln(tw)
				printMembers(tw, st.Members)
			})
		},
	}
}

func printMembers(tw *tabwriter.Writer, members []api.Member) {
	fmt.Fprintln(tw, "ID\tRAFT ADDRESS\tHTTP\tSUFFRAGE\tGOSSIP\tLEADER\tAPPLIED")
	for _, m := range members {
		leader := ""
		if m.Leader {
			leader = "*"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\n", m.ID, m.RaftAddr, orDash(m.HTTPAddr), orDash(m.Suffrage), m.Gossip, leader, m.AppliedIndex)
	}
}

func newPeersCmd(g *globalOptions) *cobra.Command {
	peers := &cobra.Command{Use: "peers", Short: "List or remove raft peers"}
	peers.AddCommand(&cobra.Command{
		Use:   "ls",
		Short: "List the members of the cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), st.Members, func(tw *tabwriter.Writer) { printMembers(tw, st.Members) })
		},
	}, &cobra.Command{
		Use:   "remove ID",
		Short: "Remove a server from the raft configuration (it must be gone for good)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.RemovePeer(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", args[0])
			return nil
		},
	})
	return peers
}

func newFragmentsCmd(g *globalOptions) *cobra.Command {
	frags := &cobra.Command{Use: "fragments", Aliases: []string{"fragment", "frag"}, Short: "Put, list and remove fragments"}

	var (
		file string
		wait time.Duration
	)
	put := &cobra.Command{
		Use:   "put -f FILE|-",
		Short: "Create or update fragments from a JSON file (one fragment, or an array of them)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{fmt.Errorf("-f FILE is required (use - for standard input)")}
			}
			raw, err := readInput(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			docs, err := splitFragments(raw)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var results []api.WriteResult
			for i, doc := range docs {
				res, err := c.PutFragmentJSON(cmd.Context(), doc, api.Wait(wait))
				if err != nil {
					if len(docs) > 1 {
						return fmt.Errorf("fragment %d of %d: %w", i+1, len(docs), err)
					}
					return err
				}
				results = append(results, res)
			}
			if err := g.print(cmd.OutOrStdout(), results, func(tw *tabwriter.Writer) {
				printWrites(tw, results)
			}); err != nil {
				return err
			}
			return syncFailures(results...)
		},
	}
	put.Flags().StringVarP(&file, "file", "f", "", "fragment JSON file, or - for standard input")
	put.Flags().DurationVar(&wait, "wait", 0, "answer only once the leader synced the touched targets downstream (at most 5m); a downstream error then fails the command")

	var target, source string
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List fragments, optionally of one target or source",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t, err := parseTargetFlag(target)
			if err != nil {
				return err
			}
			s, err := parseSourceFlag(source)
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.ListFragments(cmd.Context(), t, s)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), list, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "TARGET KIND\tTARGET\tSOURCE\tGENERATION\tCREATED\tMODIFIED\tSIZE")
				for _, f := range list {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\n", f.Target.Kind, f.Target.Name, f.Source, f.Generation, f.CreateIndex, f.ModifyIndex, len(f.Spec))
				}
			})
		},
	}
	ls.Flags().StringVar(&target, "target", "", "only fragments of this target: KIND or KIND/NAME")
	ls.Flags().StringVar(&source, "source", "", "only fragments of this source: KIND[/NAMESPACE]/NAME")

	rm := &cobra.Command{
		Use:   "rm TARGET_KIND TARGET_NAME SOURCE",
		Short: "Remove one fragment; SOURCE is KIND/NAME or KIND/NAMESPACE/NAME",
		Args:  cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := parseSource(args[2])
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.DeleteFragment(cmd.Context(), api.TargetRef{Kind: args[0], Name: args[1]}, s, api.Wait(wait))
			if err != nil {
				return err
			}
			if err := g.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "removed at index %d\n", res.Index)
				printSync(tw, res.Sync)
			}); err != nil {
				return err
			}
			return syncFailures(res)
		},
	}
	rm.Flags().DurationVar(&wait, "wait", 0, "answer only once the leader synced the target downstream (at most 5m)")
	frags.AddCommand(put, ls, rm)
	return frags
}

// printSync shows what a write with --wait found downstream.
// printWrites is the table of fragment writes: where each applied, its
// warnings (values stored although likely mistakes), and its sync.
func printWrites(tw *tabwriter.Writer, results []api.WriteResult) {
	for _, r := range results {
		fmt.Fprintf(tw, "applied at index %d (%d changed)\n", r.Index, r.Changed)
		for _, w := range r.Warnings {
			fmt.Fprintf(tw, "  warning: %s\t%s\n", w.Field, w.Message)
		}
		printSync(tw, r.Sync)
	}
}

func printSync(tw *tabwriter.Writer, sync []api.TargetSync) {
	for _, ts := range sync {
		switch {
		case ts.Status != nil && ts.Status.Error != "":
			fmt.Fprintf(tw, "  %s\tfailed: %s\n", ts.Target, ts.Status.Error)
		case ts.Settled && ts.Status != nil && len(ts.Status.Refused) > 0:
			fmt.Fprintf(tw, "  %s\tsynced, but not: %s\n", ts.Target, refusedList(ts.Status.Refused))
		case ts.Settled:
			fmt.Fprintf(tw, "  %s\tsynced\n", ts.Target)
		default:
			fmt.Fprintf(tw, "  %s\tnot synced\n", ts.Target)
		}
	}
}

// refusedList says which parts a synced target left out and why.
func refusedList(refused []api.RefusedPart) string {
	parts := make([]string, len(refused))
	for i, r := range refused {
		parts[i] = r.Key + " (" + r.Reason + ": " + r.Message + ")"
	}
	return strings.Join(parts, "; ")
}

// syncFailures turns downstream errors reported by --wait into the
// command's error, so scripts see them in the exit status.
func syncFailures(results ...api.WriteResult) error {
	var failed []string
	for _, r := range results {
		for _, ts := range r.Sync {
			if ts.Status != nil && ts.Status.Error != "" {
				failed = append(failed, ts.Target.String())
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("applied, but the sync failed downstream for %s", strings.Join(failed, ", "))
	}
	return nil
}

func readInput(stdin io.Reader, file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(file)
}

// splitFragments accepts one fragment object or an array of them.
func splitFragments(raw []byte) ([]json.RawMessage, error) {
	trimmed := strings.TrimSpace(string(raw))
	if strings.HasPrefix(trimmed, "[") {
		var list []json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("fragment file: %w", err)
		}
		return list, nil
	}
	return []json.RawMessage{json.RawMessage(raw)}, nil
}

// parseSource parses KIND/NAME or KIND/NAMESPACE/NAME.
func parseSource(s string) (api.SourceRef, error) {
	parts := strings.SplitN(s, "/", 3)
	switch len(parts) {
	case 2:
		return api.SourceRef{Kind: parts[0], Name: parts[1]}, nil
	case 3:
		return api.SourceRef{Kind: parts[0], Namespace: parts[1], Name: parts[2]}, nil
	}
	return api.SourceRef{}, usageError{fmt.Errorf("source %q: want KIND/NAME or KIND/NAMESPACE/NAME", s)}
}

func parseSourceFlag(s string) (api.SourceRef, error) {
	if s == "" {
		return api.SourceRef{}, nil
	}
	return parseSource(s)
}

// parseTargetFlag parses KIND or KIND/NAME (a name may hold slashes).
func parseTargetFlag(s string) (api.TargetRef, error) {
	kind, name, _ := strings.Cut(s, "/")
	return api.TargetRef{Kind: kind, Name: name}, nil
}

func newTargetsCmd(g *globalOptions) *cobra.Command {
	targets := &cobra.Command{Use: "targets", Aliases: []string{"target"}, Short: "Inspect targets and their aggregated desired state"}
	var kind string
	ls := &cobra.Command{
		Use:   "ls",
		Short: "List targets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.ListTargets(cmd.Context(), kind)
			if err != nil {
				return err
			}
			// A dry run's plans get a column (see `conflux-sync plan`).
			plans := slices.ContainsFunc(list, func(t api.TargetSummary) bool { return t.Status != nil && len(t.Status.Plan) > 0 })
			return g.print(cmd.OutOrStdout(), list, func(tw *tabwriter.Writer) {
				planColumn := ""
				if plans {
					planColumn = "PLAN\t"
				}
				fmt.Fprintf(tw, "KIND\tNAME\tFRAGMENTS\tREVISION\tHASH\tCONFLICTS\tSYNCED\t%sERROR\n", planColumn)
				for _, t := range list {
					synced, errText := "-", ""
					if t.Status != nil {
						synced = shortHash(t.Status.SyncedHash)
						errText = t.Status.Error
					}
					if plans {
						planColumn = planSummary(t.Status) + "\t"
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%s\t%s%s\n", t.Target.Kind, t.Target.Name, t.Fragments, t.Revision, shortHash(t.Hash), t.Conflicts, synced, planColumn, errText)
				}
			})
		},
	}
	ls.Flags().StringVar(&kind, "kind", "", "only targets of this kind")

	get := &cobra.Command{
		Use:   "get KIND NAME",
		Short: "Show a target: desired output, hash, conflicts, status and fragments",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			t, err := c.GetTarget(cmd.Context(), api.TargetRef{Kind: args[0], Name: args[1]})
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), t, func(tw *tabwriter.Writer) { printTarget(tw, t) })
		},
	}
	sync := &cobra.Command{
		Use:   "sync KIND NAME",
		Short: "Ask the leader to sync a target now",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.SyncTarget(cmd.Context(), api.TargetRef{Kind: args[0], Name: args[1]})
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				if res.Queued {
					fmt.Fprintf(tw, "sync of %s %s at revision %d queued on the leader\n", args[0], args[1], res.Revision)
				} else {
					fmt.Fprintf(tw, "%s %s exists at revision %d, but this cluster runs no sync engine for its kind: nothing was queued\n", args[0], args[1], res.Revision)
				}
			})
		},
	}
	targets.AddCommand(ls, get, sync)
	return targets
}

// planSummary is a target's plan in one cell: its first line, and how
// many more there are; "-" without one.
func planSummary(st *api.SyncStatus) string {
	if st == nil || len(st.Plan) == 0 {
		return "-"
	}
	if n := len(st.Plan) - 1; n > 0 {
		return fmt.Sprintf("%s (+%d more)", st.Plan[0], n)
	}
	return st.Plan[0]
}

func printTarget(tw *tabwriter.Writer, t api.Target) {
	fmt.Fprintf(tw, "Target:\t%s %s\nRevision:\t%d\nHash:\t%s\n", t.Target.Kind, t.Target.Name, t.Revision, orDash(t.Hash))
	if t.Status != nil {
		fmt.Fprintf(tw, "Synced hash:\t%s\nLast attempt:\t%s (%d failed attempts)\n", orDash(t.Status.SyncedHash), t.Status.Time.Format("2006-01-02 15:04:05Z07:00"), t.Status.Attempts)
		if t.Status.DryRun {
			fmt.Fprintf(tw, "Dry run:\tyes (planned hash %s; nothing was written)\n", shortHash(t.Status.AttemptedHash))
		}
		if t.Status.Error != "" {
			fmt.Fprintf(tw, "Error:\t%s\n", t.Status.Error)
		}
		// What the flush found or made downstream (a tunnel's or a virtual
		// network's id, what a route points at), in key order.
		for i, k := range slices.Sorted(maps.Keys(t.Status.DownstreamIDs)) {
			label := ""
			if i == 0 {
				label = "Downstream:"
			}
			fmt.Fprintf(tw, "%s\t%s=%s\n", label, k, t.Status.DownstreamIDs[k])
		}
		if d := t.Status.DependsOn; d != nil {
			fmt.Fprintf(tw, "Depends on:\t%s (flushed again when it records an outcome)\n", d)
		}
		for _, w := range t.Status.Waiting {
			what := w.Key
			if what == "" {
				what = "everything"
			}
			fmt.Fprintf(tw, "Waiting:\t%s for %s\n", what, w.For)
		}
		for _, r := range t.Status.Refused {
			fmt.Fprintf(tw, "Not written:\t%s (%s): %s\n", r.Key, r.Reason, r.Message)
		}
		for i, line := range t.Status.Plan {
			label := ""
			if i == 0 {
				label = "Plan:"
			}
			fmt.Fprintf(tw, "%s\t%s\n", label, line)
		}
	} else {
		fmt.Fprintf(tw, "Synced hash:\t- (never synced)\n")
	}
	tw.Flush()
	fmt.Fprintf(tw, "\nFragments:\n")
	fmt.Fprintln(tw, "  SOURCE\tGENERATION\tCREATED\tMODIFIED")
	for _, f := range t.Fragments {
		fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\n", f.Source, f.Generation, f.CreateIndex, f.ModifyIndex)
	}
	if len(t.Conflicts) > 0 {
		fmt.Fprintf(tw, "\nConflicts:\n")
		fmt.Fprintln(tw, "  KEY\tWINNER\tLOSER\tREASON")
		for _, c := range t.Conflicts {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Key, c.Winner, c.Loser, c.Reason)
		}
	}
	tw.Flush()
	pretty := []byte("null")
	var buf bytes.Buffer
	if len(t.Desired) > 0 && json.Indent(&buf, t.Desired, "  ", "  ") == nil {
		pretty = buf.Bytes()
	}
	fmt.Fprintf(tw, "\nDesired:\n  %s\n", pretty)
}
