package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/ecstore/ecstore/gateway"
)

// Client calls a gateway's admin API.
type Client struct {
	Endpoint             string // http(s)://host:port
	AccessKey, SecretKey string
	Region               string // default us-east-1
	HTTP                 *http.Client
}

func (c *Client) do(ctx context.Context, method, op string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.Endpoint, "/")+Prefix+op, nil)
	if err != nil {
		return err
	}
	region := c.Region
	if region == "" {
		region = "us-east-1"
	}
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	req = signer.SignV4(*req, c.AccessKey, c.SecretKey, "", region)
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		var e apiError
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("admin: %s: %s", resp.Status, e.Error)
		}
		return fmt.Errorf("admin: %s", resp.Status)
	}
	return json.Unmarshal(body, out)
}

// StartHeal starts a heal walk of every object.
func (c *Client) StartHeal(ctx context.Context, deep bool) (gateway.HealStatus, error) {
	var st gateway.HealStatus
	err := c.do(ctx, http.MethodPost, fmt.Sprintf("heal?deep=%t", deep), &st)
	return st, err
}

// HealStatus reports the current or last heal.
func (c *Client) HealStatus(ctx context.Context) (gateway.HealStatus, error) {
	var st gateway.HealStatus
	err := c.do(ctx, http.MethodGet, "heal", &st)
	return st, err
}

// ProgressLine renders a heal's progress as one terminal line.
func ProgressLine(st gateway.HealStatus) string {
	const width = 30
	frac := 1.0
	switch {
	case st.ObjectsTotal > 0:
		frac = float64(st.ObjectsScanned) / float64(st.ObjectsTotal)
	case st.Running:
		frac = 0 // still counting
	}
	frac = min(max(frac, 0), 1)
	filled := int(frac * width)
	bar := strings.Repeat("#", filled) + strings.Repeat(".", width-filled)
	objs, bytes := st.Rate()
	eta := "-"
	if st.Running {
		eta = st.ETA().Round(time.Second).String()
	}
	return fmt.Sprintf("[%s] %3.0f%%  objects %d/%d  repaired %d  failed %d  scanned %s  rebuilt %s  %.0f obj/s %s/s  ETA %s",
		bar, frac*100, st.ObjectsScanned, st.ObjectsTotal, st.ObjectsRepaired, st.ObjectsFailed,
		humanBytes(float64(st.BytesScanned)), humanBytes(float64(st.BytesRepaired)), objs, humanBytes(bytes), eta)
}

func humanBytes(b float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for b >= 1024 && i < len(units)-1 {
		b /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", b, units[i])
}
