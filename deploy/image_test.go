// Copyright 2026 The zkwatch Authors
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
// http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.

package deploy

import (
	"archive/tar"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// imageConfig is what the test reads of `podman image inspect`.
type imageConfig struct {
	Size   int64
	Config struct {
		User         string
		ExposedPorts map[string]struct{}
		Entrypoint   []string
		Labels       map[string]string
	}
}

// TestImage builds the image with `make image`, checks its configuration,
// exports its file system and runs every binary from it: --version, and
// the exporter serving a real ZooKeeper as the image's user. podman cannot
// start containers in this sandbox (cgroups), so the exported tree stands
// in for a running container.
func TestImage(t *testing.T) {
	requireTool(t, "podman")
	tag := fmt.Sprintf("localhost/zkwatch-test:%d", os.Getpid())
	runMake(t, "image", "IMAGE="+tag)
	t.Cleanup(func() { _ = exec.Command("podman", "rmi", "-f", tag).Run() })

	cfg := inspectImage(t, tag)
	t.Logf("image %s: %d bytes (%.1f MB)", tag, cfg.Size, float64(cfg.Size)/1e6)
	if u := cfg.Config.User; u != "65534:65534" {
		t.Errorf("image user %q, want the numeric non-root 65534:65534", u)
	}
	for _, p := range []string{"9141/tcp", "9143/tcp", "9144/tcp"} {
		if _, ok := cfg.Config.ExposedPorts[p]; !ok {
			t.Errorf("image does not expose %s: %v", p, cfg.Config.ExposedPorts)
		}
	}
	if e := strings.Join(cfg.Config.Entrypoint, " "); e != "/bin/zookeeper_exporter" {
		t.Errorf("entrypoint %q, want /bin/zookeeper_exporter", e)
	}
	revision := cfg.Config.Labels["org.opencontainers.image.revision"]
	checkRevision(t, revision)
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  repoVersion(t),
		"org.opencontainers.image.licenses": "Apache-2.0",
	} {
		if got := cfg.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}

	root := exportImage(t, tag)
	checkImageFiles(t, root)
	pem, err := os.ReadFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"))
	if err != nil || !x509.NewCertPool().AppendCertsFromPEM(pem) {
		t.Errorf("image has no usable CA bundle: %v", err)
	}
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	for _, name := range binaryNames(t) {
		bin := filepath.Join(root, "bin", name)
		f, err := os.Open(bin)
		if err != nil {
			t.Fatal(err)
		}
		checkStatic(t, f, "image's /bin/"+name, machine)
		f.Close()
		if rev := checkVersion(t, bin); rev != revision {
			t.Errorf("%s reports revision %s, the image's label %s", name, rev, revision)
		}
	}
	checkExporterServes(t, filepath.Join(root, "bin/zookeeper_exporter"), imageUser(t, root))
}

func inspectImage(t *testing.T, tag string) imageConfig {
	t.Helper()
	out, err := exec.Command("podman", "image", "inspect", tag).Output()
	if err != nil {
		t.Fatalf("podman image inspect %s: %v", tag, err)
	}
	var cfgs []imageConfig
	if err := json.Unmarshal(out, &cfgs); err != nil || len(cfgs) != 1 {
		t.Fatalf("podman image inspect %s: %v (%d images)", tag, err, len(cfgs))
	}
	return cfgs[0]
}

// exportImage creates a container of the image (never started) and
// extracts `podman export` of it into a temporary directory.
func exportImage(t *testing.T, tag string) string {
	t.Helper()
	out, err := exec.Command("podman", "create", tag).Output()
	if err != nil {
		t.Fatalf("podman create %s: %v", tag, err)
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("podman", "rm", "-f", id).Run() })
	cmd := exec.Command("podman", "export", id)
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := untar(pipe, root); err != nil {
		t.Fatalf("podman export: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("podman export: %v", err)
	}
	return root
}

// untar extracts directories and regular files of a tar stream below dir.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(p, filepath.Clean(dir)+string(filepath.Separator)) {
			return fmt.Errorf("entry %q leaves the directory", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

// imageUser makes the exported tree reachable by the image's user and
// returns the process attributes that run as it; unprivileged test runs
// keep their own user.
func imageUser(t *testing.T, root string) *syscall.SysProcAttr {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	// The test's own directories only, never the temporary directory itself.
	for d := root; strings.HasPrefix(d, filepath.Clean(os.TempDir())+string(filepath.Separator)); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
}

// checkImageFiles fails unless the image holds exactly the binaries, the
// CA bundle and the licence.
func checkImageFiles(t *testing.T, root string) {
	t.Helper()
	want := []string{"LICENSE", "etc/ssl/certs/ca-certificates.crt"}
	for _, b := range binaryNames(t) {
		want = append(want, "bin/"+b)
	}
	sort.Strings(want)
	var got []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		got = append(got, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("image files %v, want %v", got, want)
	}
}
