package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/conflux-sync/conflux-sync/api"
)

// Plan states (planEntry.State).
const (
	planPlanned    = "planned"     // a dry run planned the current hash
	planInSync     = "in-sync"     // nothing to write: planned so, or synced for real
	planError      = "error"       // the last attempt failed
	planOutdated   = "outdated"    // planned, but the target changed since
	planNotPlanned = "not-planned" // no plan: never attempted, or not a dry run
)

// planEntry is one target of `conflux-sync plan`.
type planEntry struct {
	Target   api.TargetRef `json:"target"`
	Revision uint64        `json:"revision"`
	Hash     string        `json:"hash,omitempty"`
	State    string        `json:"state"`
	// Plan is what a real sync would do, one action a line; with an error,
	// what was planned before it.
	Plan  []string `json:"plan,omitempty"`
	Error string   `json:"error,omitempty"`
}

// planOf reads a target's plan out of its recorded status.
func planOf(t api.TargetSummary) planEntry {
	e := planEntry{Target: t.Target, Revision: t.Revision, Hash: t.Hash}
	st := t.Status
	switch {
	case st == nil:
		e.State = planNotPlanned
	case st.Error != "":
		e.State, e.Error = planError, st.Error
		if st.DryRun {
			e.Plan = st.Plan
		}
	case st.DryRun && st.AttemptedHash != t.Hash:
		e.State, e.Plan = planOutdated, st.Plan
	case st.DryRun && len(st.Plan) == 1 && st.Plan[0] == api.PlanInSync:
		e.State = planInSync
	case st.DryRun:
		e.State, e.Plan = planPlanned, st.Plan
	case st.SyncedHash == t.Hash:
		e.State = planInSync
	default:
		e.State = planNotPlanned
	}
	return e
}

// lines is what the table shows of e: its plan, or why there is none.
func (e planEntry) lines() []string {
	switch e.State {
	case planInSync:
		return []string{"in sync"}
	case planError:
		return append([]string{"error: " + e.Error}, e.Plan...)
	case planOutdated:
		return append([]string{"(outdated: the target changed; a new plan follows)"}, e.Plan...)
	case planNotPlanned:
		return []string{"not planned (no dry run has planned this revision yet)"}
	}
	return e.Plan
}

func newPlanCmd(g *globalOptions) *cobra.Command {
	var kind string
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what each target's sync would do, as recorded by a dry run (server --dry-run)",
		Long: `List, per target, the plan a cluster started with --dry-run recorded: what a real
sync would create, update or delete downstream, and what it would adopt or take
over without a write (and by what evidence). Targets with nothing to write say
"in sync"; a failed plan shows its error. When the plans say only "in sync",
"take over" or "adopt", the first sync after a restart without --dry-run writes
nothing.`,
		Example: `  # conflux-sync runs next to the cloudflare-operator with --dry-run; before
  # stopping the operator and restarting without --dry-run:
  conflux-sync plan
  conflux-sync plan --kind cloudflare.DNSRecord -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.ListTargets(cmd.Context(), kind)
			if err != nil {
				return err
			}
			plans := make([]planEntry, len(list))
			for i, t := range list {
				plans[i] = planOf(t)
			}
			return g.print(cmd.OutOrStdout(), plans, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "KIND\tNAME\tPLAN")
				for _, p := range plans {
					for i, line := range p.lines() {
						if i == 0 {
							fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Target.Kind, p.Target.Name, line)
						} else {
							fmt.Fprintf(tw, "\t\t%s\n", line)
						}
					}
				}
			})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "only targets of this kind")
	return cmd
}
