package intercept

import "time"

// SetNow sets the breaker's clock.
func SetNow(b *Breaker, now func() time.Time) { b.now = now }
