package tests

import (
	"context"
	"fmt"
	"strings"

	"github.com/ecstore/ecstore/cluster"
	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/rpc"
)

// dumpKey describes where a key's records and shards are, node by node
// (printed by TestChaos when CHAOS_DEBUG is set).
func dumpKey(c *Cluster, bucket, key string) string {
	m, err := cluster.Load(c.MapFile)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	ctx := context.Background()
	for _, n := range m.Nodes {
		for _, d := range n.Drives {
			rd := rpc.NewClient(c.nodeURL(n.Address, ""), d.ID, rpc.Options{Secret: []byte(clusterSecret), MapID: m.ID(), TLSConfig: c.internodeTLS()})
			meta, err := rd.GetMeta(ctx, bucket, key)
			if err != nil {
				fmt.Fprintf(&b, "  %s: %v\n", d.ID, err)
				continue
			}
			fmt.Fprintf(&b, "  %s: vid %s mtime %s drives %v", d.ID, meta.VersionID[:8], meta.ModTime.Format("15:04:05.000"), meta.Drives)
			if meta.InlineData {
				b.WriteString(" inline\n")
				continue
			}
			for _, p := range meta.Parts {
				r, err := rd.OpenShard(ctx, storagenode.ShardRef{Bucket: bucket, VersionDir: meta.DataDir, Name: p.Name})
				if err != nil {
					fmt.Fprintf(&b, " part%d:%v", p.Number, err)
				} else {
					fmt.Fprintf(&b, " part%d:%dB", p.Number, r.Size())
					r.Close()
				}
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
