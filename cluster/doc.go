// Package cluster reads and checks the cluster map: the YAML file that lists
// a cluster's storage nodes (id, address, zone), their drives (id, weight)
// and the erasure code. Every process of a cluster loads the same file; its
// ID (epoch plus a hash of the content) travels with every internode
// request, and a node refuses callers that run with another map.
//
// cluster must never import gateway or s3compat.
package cluster
