package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// globalOptions are the flags every client command shares.
type globalOptions struct {
	addr        string
	token       string
	tokenFile   string
	output      string
	caFile      string
	configFile  string
	consistency string
}

func newRootCmd() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "conflux-sync",
		Short: "The single, Raft-replicated writer to Cloudflare and Conflux",
		Long: `conflux-sync turns the wishes of many producers (Kubernetes, Git, Terraform, the API)
into fragments in one Raft log, aggregates them per downstream object and lets the
leader alone write them.

Every flag can also be set as CONFLUX_SYNC_<FLAG> (upper case, dashes as
underscores) or in a YAML/JSON file given with --config; a flag on the command line
wins over the environment, which wins over the file.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := bindEnvAndFile(cmd, g.configFile); err != nil {
				return usageError{err}
			}
			if g.output != "table" && g.output != "json" {
				return usageError{fmt.Errorf("--output must be table or json, not %q", g.output)}
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.addr, "addr", "http://127.0.0.1:7780", "admin API address of any node")
	pf.StringVar(&g.token, "token", "", "bearer token for the admin API")
	pf.StringVar(&g.tokenFile, "token-path", "", "read the bearer token from this file")
	pf.StringVarP(&g.output, "output", "o", "table", "output format: table or json")
	pf.StringVar(&g.caFile, "ca-file", "", "CA certificate to verify an https admin API")
	pf.StringVar(&g.consistency, "consistency", "", "read consistency: stale, default or consistent")
	pf.StringVar(&g.configFile, "config", "", "YAML or JSON file of flag values")

	root.AddCommand(
		newServerCmd(),
		newDevCmd(),
		newEmulatorCmd(),
		newStatusCmd(g),
		newFragmentsCmd(g),
		newTargetsCmd(g),
		newPlanCmd(g),
		newPeersCmd(g),
		newSnapshotCmd(g),
		newSourcesCmd(g),
		newGitopsCmd(g),
		newTFStateCmd(g),
		newRecoverCmd(),
		newOperatorCmd(g),
		newBenchCmd(g),
	)
	return root
}

// bindEnvAndFile fills every flag not given on the command line from
// CONFLUX_SYNC_<NAME>, then from the config file.
func bindEnvAndFile(cmd *cobra.Command, configFile string) error {
	if configFile == "" {
		configFile = os.Getenv("CONFLUX_SYNC_CONFIG")
	}
	var file map[string]any
	if configFile != "" {
		raw, err := os.ReadFile(configFile)
		if err != nil {
			return fmt.Errorf("config file: %w", err)
		}
		if err := yaml.Unmarshal(raw, &file); err != nil {
			return fmt.Errorf("config file %s: %w", configFile, err)
		}
	}
	known := map[string]bool{}
	var firstErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		known[f.Name] = true
		if f.Changed || firstErr != nil {
			return
		}
		env := "CONFLUX_SYNC_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok {
			if err := f.Value.Set(v); err != nil {
				firstErr = fmt.Errorf("%s=%q: %w", env, v, err)
			}
			return
		}
		if v, ok := file[f.Name]; ok {
			if err := setFromFile(f, v); err != nil {
				firstErr = fmt.Errorf("config file %s: %s: %w", configFile, f.Name, err)
			}
		}
	})
	if firstErr != nil {
		return firstErr
	}
	// A key no command knows is a typo; a key of another command is fine,
	// so one file can serve `server` and the client commands alike.
	allFlags(cmd.Root(), known)
	for k := range file {
		if !known[k] {
			return fmt.Errorf("config file %s: unknown setting %q", configFile, k)
		}
	}
	return nil
}

func setFromFile(f *pflag.Flag, v any) error {
	if list, ok := v.([]any); ok {
		parts := make([]string, len(list))
		for i, p := range list {
			parts[i] = fmt.Sprint(p)
		}
		return f.Value.Set(strings.Join(parts, ","))
	}
	return f.Value.Set(fmt.Sprint(v))
}

func allFlags(c *cobra.Command, into map[string]bool) {
	c.Flags().VisitAll(func(f *pflag.Flag) { into[f.Name] = true })
	c.PersistentFlags().VisitAll(func(f *pflag.Flag) { into[f.Name] = true })
	for _, sub := range c.Commands() {
		allFlags(sub, into)
	}
}
