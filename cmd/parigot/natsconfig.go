package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"parigot.dev/parigot/builder"
	"parigot.dev/parigot/runtime/gateway"
	"parigot.dev/parigot/runtime/host"
	"parigot.dev/parigot/runtime/split"
)

func newNATSConfigCommand(stdout, stderr io.Writer) *cobra.Command {
	var seeds string
	cmd := &cobra.Command{
		Use:   "nats-config [app-dir] --seeds DIR",
		Short: "Print the NATS server configuration that gives each guest its own user",
		Long: `nats-config reads parigot.hcl in app-dir (default: the current directory) and
prints, for a NATS server or cluster that 'parigot run --mode=split --nats'
joins, an authorization block with one nkey user per guest, allowed only what
the guest needs: a service takes only its own calls (in its own queue group)
and answers only the calls it took; a guest calls only the services its
requires lists; each reads only its own replies. Nothing is built.

Each user's secret, its nkey seed, is in DIR/<guest>.nk. nats-config makes
the seeds that DIR lacks (mode 0600, DIR 0700) and says so on stderr; it
keeps the others, so running it again prints the same configuration. The
configuration holds only public keys.

Then, on every NATS node, put the block in the server's configuration (or
'include' the file) and reload it; on each machine, give 'parigot run' the
seeds of the guests it hosts with --nats-seeds DIR.`,
		Example: `  parigot nats-config --seeds ~/.parigot/shop-seeds > parigot-shop.conf
  # on each NATS node: include parigot-shop.conf in nats-server.conf, then
  nats-server --signal reload
  # on each machine, with the seeds of the guests it hosts:
  parigot run --mode=split --nats=nats://nats-1:4222 --nats-seeds ~/.parigot/shop-seeds --only=orders`,
		Args: maxOneDir,
		RunE: func(cmd *cobra.Command, args []string) error {
			app, err := builder.LoadDeclared(appDir(args))
			if err != nil {
				return err
			}
			gws, err := gateway.FromManifest(app, "")
			if err != nil {
				return err
			}
			// A gateway is a NATS user too, named after it
			// (split.GatewayIdentity), with a seed of its own.
			guests := split.WithGateways(host.GuestsFromManifest(app, nil), gateway.SplitGateways(gws))
			var names []string
			for _, g := range guests {
				names = append(names, g.Name)
			}
			keys, made, err := split.MakeSeeds(seeds, names)
			for _, name := range made {
				who := name
				if gw, ok := split.GatewayOf(name); ok {
					who = "gateway " + gw
				}
				fmt.Fprintf(stderr, "parigot: made the NATS seed of %s in %s, which only you may read: copy it, mode 0600, to the machines that host %s\n",
					who, split.SeedFile(seeds, name), who)
			}
			if err != nil {
				return err
			}
			conf, err := split.AuthorizationConfig(app.Name, guests, keys)
			if err != nil {
				return err
			}
			_, err = io.WriteString(stdout, conf)
			return err
		},
	}
	cmd.Flags().StringVar(&seeds, "seeds", "", "directory of the guests' nkey seeds, <guest>.nk (made if missing); keep it private")
	cmd.MarkFlagRequired("seeds")
	cmd.MarkFlagDirname("seeds")
	return cmd
}
