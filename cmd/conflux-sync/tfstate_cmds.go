package main

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// newTFStateCmd is `conflux-sync tfstate`: the Terraform state the cluster
// keeps for Terraform's http backend (docs/terraform/guides/backend.md).
func newTFStateCmd(g *globalOptions) *cobra.Command {
	tf := &cobra.Command{
		Use:   "tfstate",
		Short: "Inspect, restore and unlock the Terraform states the cluster keeps (http backend)",
		Long: `Terraform's http backend keeps each workspace's state in the cluster at
/v1/terraform/state/<workspace> (docs/terraform/guides/backend.md). These commands list
the workspaces and the versions kept (--tf-state-versions on the servers), show a
state, make an older version current again, and release a lock. They need a token
with the write role: a state holds the configuration's secrets.`,
	}
	list := &cobra.Command{
		Use:     "list",
		Aliases: []string{"ls"},
		Short:   "List the workspaces: current version, serial, lock",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.TFWorkspaces(cmd.Context())
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), list, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "WORKSPACE\tVERSION\tSERIAL\tSIZE\tMODIFIED\tLOCKED BY")
				for _, w := range list {
					version, locked := "-", "-"
					if w.Version != 0 {
						version = strconv.FormatUint(w.Version, 10)
					}
					if w.Lock != nil {
						locked = w.Lock.ID
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", w.Name, version, w.Serial, w.Size, formatTime(w.Modified), locked)
				}
			})
		},
	}
	versions := &cobra.Command{
		Use:   "versions WORKSPACE",
		Short: "List the versions kept of a workspace's state, oldest first",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.TFStateVersions(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), list, func(tw *tabwriter.Writer) {
				fmt.Fprintln(tw, "VERSION\tSERIAL\tSIZE\tTIME\tINDEX\tNOTE")
				for _, v := range list {
					var note string
					if v.Current {
						note = "current"
					}
					if v.RestoredFrom != 0 {
						note = join(note, fmt.Sprintf("restored from %d", v.RestoredFrom))
					}
					fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%d\t%s\n", v.Version, v.Serial, v.Size, formatTime(v.Time), v.Index, orDash(note))
				}
			})
		},
	}
	var showVersion uint64
	show := &cobra.Command{
		Use:   "show WORKSPACE",
		Short: "Print a workspace's state (the current one, or --version N) as Terraform stored it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			body, err := c.TFState(cmd.Context(), args[0], showVersion)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(body)
			return err
		},
	}
	show.Flags().Uint64Var(&showVersion, "version", 0, "a kept version instead of the current state (see tfstate versions)")
	var lockID string
	var force bool
	restore := &cobra.Command{
		Use:   "restore WORKSPACE VERSION",
		Short: "Make a kept version the current state again (as a new version)",
		Long: `Make a kept version the current state again. The restore is a new write: it
becomes the newest version, so it can itself be undone. While the workspace is
locked (a Terraform run holds it) the restore is refused unless --lock-id names
the lock held, or --force is given.`,
		Example: `  conflux-sync tfstate versions prod
  conflux-sync tfstate restore prod 7`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			version, err := strconv.ParseUint(args[1], 10, 64)
			if err != nil || version == 0 {
				return usageError{fmt.Errorf("VERSION %q is not a version number (1, 2, ...; see tfstate versions)", args[1])}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.RestoreTFState(cmd.Context(), args[0], version, lockID, force)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				fmt.Fprintf(tw, "workspace %s: version %d restored as version %d (raft index %d)\n", res.Workspace, version, res.Version, res.Index)
			})
		},
	}
	restore.Flags().StringVar(&lockID, "lock-id", "", "the id of the lock held on the workspace (see tfstate list)")
	restore.Flags().BoolVar(&force, "force", false, "restore even while another run holds the lock")
	var unlockForce bool
	unlock := &cobra.Command{
		Use:   "unlock WORKSPACE [LOCK_ID]",
		Short: "Release a workspace's lock (LOCK_ID, or --force: whatever lock is held)",
		Long: `Release the lock a Terraform run holds on a workspace: the lock with LOCK_ID
(see tfstate list), or with --force whatever lock is held — what
terraform force-unlock does. Only release a lock whose run is gone.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 2 {
				id = args[1]
			}
			if id == "" && !unlockForce {
				return usageError{fmt.Errorf("name the lock to release (LOCK_ID, see tfstate list) or pass --force")}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			res, err := c.UnlockTFState(cmd.Context(), args[0], id, unlockForce)
			if err != nil {
				return err
			}
			return g.print(cmd.OutOrStdout(), res, func(tw *tabwriter.Writer) {
				if res.Changed == 0 {
					fmt.Fprintf(tw, "workspace %s was not locked\n", args[0])
					return
				}
				fmt.Fprintf(tw, "workspace %s unlocked\n", args[0])
			})
		},
	}
	unlock.Flags().BoolVar(&unlockForce, "force", false, "release whatever lock is held")
	tf.AddCommand(list, versions, show, restore, unlock)
	return tf
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + ", " + b
}
