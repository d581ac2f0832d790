package ec

import (
	"bytes"
	"hash/crc32"
	"sync"
	"testing"
)

func BenchmarkProbeMemcpy(b *testing.B) {
	data := randData(benchStream, 1)
	bufs := make([][]byte, 4)
	for i := range bufs {
		bufs[i] = make([]byte, 1<<20)
	}
	b.SetBytes(benchStream)
	for b.Loop() {
		r := bytes.NewReader(data)
		for i := 0; i < 64; i++ {
			for j := 0; j < 4; j++ {
				r.Read(bufs[i%4][j<<18 : (j+1)<<18])
			}
		}
	}
}

func BenchmarkProbeMemcpyPar2(b *testing.B) {
	data := randData(benchStream, 1)
	b.SetBytes(benchStream)
	for b.Loop() {
		var wg sync.WaitGroup
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 1<<18)
				r := bytes.NewReader(data[g*benchStream/2 : (g+1)*benchStream/2])
				for {
					if n, _ := r.Read(buf); n == 0 {
						break
					}
				}
			}()
		}
		wg.Wait()
	}
}

func BenchmarkProbeCRCPar2(b *testing.B) {
	data := randData(benchStream, 1)
	b.SetBytes(benchStream)
	for b.Loop() {
		var wg sync.WaitGroup
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := data[g*benchStream/2 : (g+1)*benchStream/2]
				for len(d) > 0 {
					crc32.Checksum(d[:1<<18], castagnoli)
					d = d[1<<18:]
				}
			}()
		}
		wg.Wait()
	}
}

func BenchmarkProbeCRCCold(b *testing.B) {
	data := randData(benchStream, 1)
	b.SetBytes(benchStream)
	for b.Loop() {
		d := data
		for len(d) > 0 {
			crc32.Checksum(d[:1<<18], castagnoli)
			d = d[1<<18:]
		}
	}
}

func BenchmarkProbeCopyThenCRC(b *testing.B) {
	data := randData(benchStream, 1)
	buf := make([]byte, 1<<18)
	b.SetBytes(benchStream)
	for b.Loop() {
		r := bytes.NewReader(data)
		for {
			n, _ := r.Read(buf)
			if n == 0 {
				break
			}
			crc32.Checksum(buf[:n], castagnoli)
		}
	}
}

func BenchmarkProbeCopyCRCChunks(b *testing.B) {
	data := randData(benchStream, 1)
	buf := make([]byte, 1<<18)
	b.SetBytes(benchStream)
	for b.Loop() {
		r := bytes.NewReader(data)
		for {
			var crc uint32
			n := 0
			for n < len(buf) {
				m, _ := r.Read(buf[n : n+16<<10])
				if m == 0 {
					break
				}
				crc = crc32.Update(crc, castagnoli, buf[n:n+m])
				n += m
			}
			if n == 0 {
				break
			}
		}
	}
}
