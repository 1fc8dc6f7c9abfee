// Package diskfull gives tests a disk that fills up: a small tmpfs of their
// own, and a file that takes all its free space until the test frees it.
//
// Mounting needs Linux and root (or CAP_SYS_ADMIN); where either is missing,
// or the mount fails (a container without the capability), the test is
// skipped and says why. The file system is unmounted when the test ends,
// after the cleanups registered later (a server using it, say) have run.
package diskfull

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a new directory and returns it.
func Mount(t testing.TB, size int64) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("diskfull: a tmpfs of the test's own needs Linux")
	}
	if os.Geteuid() != 0 {
		t.Skip("diskfull: mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0755", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("diskfull: mount -t tmpfs on %s failed (%v): %s", dir, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			// A process the test started may still hold a file open:
			// detach now, and the kernel frees it when the last one closes.
			t.Logf("diskfull: umount %s: %v: %s; detaching it instead", dir, err, bytes.TrimSpace(out))
			if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
				t.Errorf("diskfull: umount -l %s: %v: %s", dir, err, bytes.TrimSpace(out))
			}
		}
	})
	return dir
}

// Fill writes a file in dir until the file system holding it has no space
// left, and returns a function that deletes the file, freeing the space.
func Fill(t testing.TB, dir string) (free func()) {
	t.Helper()
	path := filepath.Join(dir, "diskfull.filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatalf("diskfull: %v", err)
	}
	defer f.Close()
	// Big writes first, then small ones for what a big one could not take.
	for _, size := range []int{1 << 20, 4 << 10, 1} {
		buf := bytes.Repeat([]byte{'x'}, size)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("diskfull: fill %s: %v", dir, err)
				}
				break
			}
		}
	}
	return func() {
		t.Helper()
		if err := os.Remove(path); err != nil {
			t.Errorf("diskfull: free %s: %v", dir, err)
		}
	}
}
