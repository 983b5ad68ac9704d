package main

import "github.com/spf13/cobra"

// newOperatorCmd is the parent of the operator's maintenance commands
// (cluster secrets and their rotation).
func newOperatorCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Cluster maintenance: secrets and their rotation",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newKeygenCmd(), newRotateCmd(g))
	return cmd
}
