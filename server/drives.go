package server

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/ecstore/ecstore/storagenode"
	"github.com/ecstore/ecstore/storagenode/local"
	"github.com/google/uuid"
)

// driveSet describes the drive folders a process opens as one set.
type driveSet struct {
	Dirs []string
	IDs  []string // the drives' IDs, by folder
	// Quorum is how many drives must be usable to start, and how many of the
	// set's formatted drives must be present to adopt empty folders as
	// replacements.
	Quorum int
	// AdoptEmpty adopts empty folders even below Quorum (the operator
	// accepts that what the replaced drives held is lost).
	AdoptEmpty bool
	Log        *slog.Logger
	Open       func(dir, id string) (*local.Drive, error)
}

// setDrive is one drive folder of a set, as found at start.
type setDrive struct {
	dir, id string
	format  local.Format
	state   driveState
	err     error // why unusable
	drive   *local.Drive
}

type driveState int

const (
	driveEmpty    driveState = iota // no drive.json: never formatted, or replaced
	driveMember                     // formatted, of this set (or of format 1, before sets)
	driveUnusable                   // cannot be used: offline until fixed
)

// openSet opens the folders of a drive set. The rules:
//   - A folder that cannot be used (a file where the folder should be, a
//     corrupt drive.json, another drive's or another set's drive.json, an
//     index that does not open) becomes an offline drive with its ID, so
//     placement is unchanged; it is logged at ERROR with the reason.
//   - Empty folders (no drive.json) are formatted and adopted into the set
//     as replacements, logged at WARN, only while at least Quorum of the
//     set's formatted drives are present (or AdoptEmpty); otherwise openSet
//     refuses, naming them. When no folder holds a drive.json the store is
//     new: every folder is formatted into a new set.
//   - Drives of format 1 (written before set identities) join the set the
//     others agree on, or a new one: that is the upgrade.
//   - Fewer than Quorum usable drives: openSet refuses, naming each unusable
//     folder and why.
//
// The drives are returned by folder: *local.Drive or
// *storagenode.OfflineDrive. On error nothing is left open.
func openSet(s driveSet) (drives []storagenode.Drive, err error) {
	n := len(s.Dirs)
	sd := make([]*setDrive, n)
	formatted := 0
	for i, dir := range s.Dirs {
		d := &setDrive{dir: dir, id: s.IDs[i]}
		sd[i] = d
		if st, err := os.Stat(dir); err == nil && !st.IsDir() {
			d.state, d.err = driveUnusable, fmt.Errorf("%s is not a folder", dir)
			continue
		}
		f, found, err := local.ReadFormat(dir)
		switch {
		case err != nil:
			d.state, d.err = driveUnusable, err
			formatted++ // something is there
		case !found:
			d.state = driveEmpty
		case f.ID != d.id:
			d.state, d.err = driveUnusable, fmt.Errorf("its drive.json names drive %q, not %q (folders swapped or given in another order?)", f.ID, d.id)
			formatted++
		default:
			d.state, d.format = driveMember, f
			formatted++
		}
	}
	defer func() {
		if err != nil {
			for _, d := range sd {
				if d.drive != nil {
					_ = d.drive.Close()
				}
			}
		}
	}()

	// The set: the one most formatted drives name.
	votes := map[string]int{}
	var set local.SetInfo
	for _, d := range sd {
		if d.state == driveMember && d.format.Set != nil {
			votes[d.format.Set.ID]++
			if v := votes[d.format.Set.ID]; v > votes[set.ID] || (v == votes[set.ID] && d.format.Set.ID < set.ID) {
				set.ID = d.format.Set.ID
			}
		}
	}
	for _, d := range sd {
		if d.state == driveMember && d.format.Set != nil && d.format.Set.ID != set.ID {
			d.state, d.err = driveUnusable, fmt.Errorf("its drive.json says it belongs to drive set %s, but the other drives are of set %s", d.format.Set.ID, set.ID)
		}
	}
	for _, d := range sd {
		if d.state != driveMember {
			continue
		}
		if d.drive, d.err = s.Open(d.dir, d.id); d.err != nil {
			d.state = driveUnusable
		}
	}
	members, empty := count(sd, driveMember), count(sd, driveEmpty)
	if empty > 0 && formatted > 0 && members < s.Quorum {
		if !s.AdoptEmpty {
			return nil, fmt.Errorf("refusing to start: drive folders %s are empty (no drive.json), and only %d of the set's %d drives are present (adopting empty folders as replacements needs %d)%s. "+
				"If these are the wrong folders, or disks that are not mounted, fix that and start again. If the drives were really replaced and what they held is lost, start once with --adopt-empty-drives",
				describe(sd, driveEmpty), members, n, s.Quorum, unusableNote(sd))
		}
		s.Log.Error("adopting empty drive folders below the set's quorum, as asked (--adopt-empty-drives): objects with more shards on them than the parity can rebuild are lost",
			"empty", describe(sd, driveEmpty), "present", members, "quorum", s.Quorum)
	}
	if members+empty < s.Quorum {
		return nil, fmt.Errorf("refusing to start: only %d of %d drives can be used, %d are needed to serve writes: %s",
			members+empty, n, s.Quorum, describe(sd, driveUnusable))
	}
	if set.ID == "" {
		set.ID = uuid.NewString()
		if formatted > 0 {
			s.Log.Info("forming the drive set of drives written before set identities (upgrade)", "set", set.ID)
		}
	}
	set.Drives = s.IDs
	for _, d := range sd {
		if d.state != driveEmpty {
			continue
		}
		if d.drive, d.err = s.Open(d.dir, d.id); d.err != nil {
			d.state = driveUnusable
			continue
		}
		d.state = driveMember
		if formatted > 0 {
			s.Log.Warn("empty drive folder adopted as a replacement; the heal scanner rebuilds its shards (or run `ecstore admin heal`)",
				"drive", d.id, "dir", d.dir, "set", set.ID)
		}
	}
	for _, d := range sd {
		if d.state != driveMember {
			continue
		}
		if f := d.drive.Format(); f.Set == nil || f.Set.ID != set.ID || !slices.Equal(f.Set.Drives, set.Drives) {
			if d.err = d.drive.JoinSet(set); d.err != nil {
				_ = d.drive.Close()
				d.drive, d.state = nil, driveUnusable
			}
		}
	}
	if usable := count(sd, driveMember); usable < s.Quorum {
		return nil, fmt.Errorf("refusing to start: only %d of %d drives can be used, %d are needed to serve writes: %s",
			usable, n, s.Quorum, describe(sd, driveUnusable))
	}
	for _, d := range sd {
		if d.state == driveUnusable {
			s.Log.Error("drive folder unusable: the drive is offline until it is fixed and the server restarted", "drive", d.id, "dir", d.dir, "err", d.err)
			drives = append(drives, storagenode.NewOffline(d.id, d.err))
		} else {
			drives = append(drives, d.drive)
		}
	}
	return drives, nil
}

func count(sd []*setDrive, st driveState) int {
	n := 0
	for _, d := range sd {
		if d.state == st {
			n++
		}
	}
	return n
}

// describe lists the folders in state st: "DIR (ID)", with the reason for
// unusable ones.
func describe(sd []*setDrive, st driveState) string {
	var out []string
	for _, d := range sd {
		if d.state != st {
			continue
		}
		s := fmt.Sprintf("%s (%s)", d.dir, d.id)
		if d.err != nil {
			s += ": " + d.err.Error()
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

func unusableNote(sd []*setDrive) string {
	if count(sd, driveUnusable) == 0 {
		return ""
	}
	return "; unusable: " + describe(sd, driveUnusable)
}

// startQuorum is how many of n drives must be usable for an embedded server
// with erasure coding k+m to start: the write quorum and a majority (bucket
// changes), as /health/ready counts.
func startQuorum(n, k, m int) int {
	w := k
	if k == m {
		w = k + 1
	}
	return max(w, n/2+1)
}

// errNoDrives is returned by openNodeDrives when no drive of a node opens.
var errNoDrives = errors.New("no drive folder of this node can be used")

// openNodeDrives opens the drive folders of a storage node (`ecstore node`).
// A folder that cannot be used becomes an offline drive with its ID
// (logged at ERROR with the reason); the node starts while one drive opens.
// An empty folder is formatted; when another drive of the node was
// formatted before, that is a replaced disk: logged at WARN (the gateways'
// heal scanner rebuilds it). The set rule of the embedded server (refuse
// empty folders below a quorum) is not applied here: the quorum that
// matters spans nodes, and only a gateway sees all of them.
func openNodeDrives(dirs, ids []string, log *slog.Logger, open func(dir, id string) (*local.Drive, error)) ([]storagenode.Drive, error) {
	drives := make([]storagenode.Drive, len(dirs))
	var empty []int
	formatted, opened := 0, 0
	var reasons []string
	for i, dir := range dirs {
		_, found, err := local.ReadFormat(dir)
		if err == nil && !found {
			empty = append(empty, i)
			continue
		}
		if err == nil {
			formatted++
			var d *local.Drive
			if d, err = open(dir, ids[i]); err == nil {
				drives[i] = d
				opened++
				continue
			}
		}
		log.Error("drive folder unusable: the drive is offline until it is fixed and the node restarted", "drive", ids[i], "dir", dir, "err", err)
		drives[i] = storagenode.NewOffline(ids[i], err)
		reasons = append(reasons, fmt.Sprintf("%s (%s): %v", dir, ids[i], err))
	}
	for _, i := range empty {
		d, err := open(dirs[i], ids[i])
		if err != nil {
			log.Error("drive folder unusable: the drive is offline until it is fixed and the node restarted", "drive", ids[i], "dir", dirs[i], "err", err)
			drives[i] = storagenode.NewOffline(ids[i], err)
			reasons = append(reasons, fmt.Sprintf("%s (%s): %v", dirs[i], ids[i], err))
			continue
		}
		drives[i] = d
		opened++
		if formatted > 0 {
			log.Warn("empty drive folder adopted as a replacement; the gateways' heal rebuilds its shards (or run `ecstore admin heal`)", "drive", ids[i], "dir", dirs[i])
		}
	}
	if opened == 0 {
		return nil, fmt.Errorf("%w: %s", errNoDrives, strings.Join(reasons, "; "))
	}
	return drives, nil
}
