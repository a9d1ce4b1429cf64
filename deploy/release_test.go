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
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// releasePlatforms are the platforms `make release` packs by default.
var releasePlatforms = map[string]elf.Machine{"linux-amd64": elf.EM_X86_64, "linux-arm64": elf.EM_AARCH64}

// TestRelease runs `make release`, checks sha256sums.txt against the
// archives, the contents of every archive (static binaries of its
// platform, LICENSE, README, CHANGELOG, examples/, alerts/ and
// dashboards/ as in the repository), and runs the host's binaries.
func TestRelease(t *testing.T) {
	requireTool(t, "sha256sum")
	dir := t.TempDir()
	runMake(t, "release", "TARBALL_DIR="+dir)
	version := repoVersion(t)

	sums := readSums(t, filepath.Join(dir, "sha256sums.txt"))
	var names []string
	for platform := range releasePlatforms {
		names = append(names, "zkwatch-"+version+"."+platform+".tar.gz")
	}
	sort.Strings(names)
	var listed []string
	for name := range sums {
		listed = append(listed, name)
	}
	sort.Strings(listed)
	if strings.Join(listed, " ") != strings.Join(names, " ") {
		t.Fatalf("sha256sums.txt lists %v, want %v", listed, names)
	}
	want := repoFiles(t, "LICENSE", "README.md", "CHANGELOG.md", "examples", "alerts", "dashboards")
	for platform, machine := range releasePlatforms {
		name := "zkwatch-" + version + "." + platform + ".tar.gz"
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != sums[name] {
			t.Errorf("%s: sha256 differs from sha256sums.txt", name)
		}
		top := strings.TrimSuffix(name, ".tar.gz")
		files := readTarball(t, data)
		for rel, content := range want {
			if got, ok := files[top+"/"+rel]; !ok || !bytes.Equal(got, content) {
				t.Errorf("%s: %s missing or different from the repository's", name, rel)
			}
		}
		for _, b := range binaryNames(t) {
			checkStatic(t, bytes.NewReader(files[top+"/"+b]), name+": "+b, machine)
		}
		if extra := len(files) - len(want) - len(binaryNames(t)); extra != 0 {
			t.Errorf("%s has %d files beyond the binaries and the listed ones", name, extra)
		}
		if platform == runtime.GOOS+"-"+runtime.GOARCH {
			runReleaseBinaries(t, files, top)
		}
	}
}

// runReleaseBinaries writes the host archive's binaries out and checks
// their --version and that the exporter serves a real ZooKeeper.
func runReleaseBinaries(t *testing.T, files map[string][]byte, top string) {
	t.Helper()
	bin := t.TempDir()
	revs := map[string]bool{}
	for _, b := range binaryNames(t) {
		p := filepath.Join(bin, b)
		if err := os.WriteFile(p, files[top+"/"+b], 0o755); err != nil {
			t.Fatal(err)
		}
		revs[checkVersion(t, p)] = true
	}
	if len(revs) != 1 {
		t.Errorf("the archive's binaries report different revisions: %v", revs)
	}
	checkExporterServes(t, filepath.Join(bin, "zookeeper_exporter"), nil)
}

// readSums parses sha256sum output: file name to hex digest.
func readSums(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("sha256sums.txt: malformed line %q", line)
		}
		sums[name] = sum
	}
	return sums
}

// readTarball returns the regular files of a .tar.gz by path.
func readTarball(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s is owned by %d:%d, want 0:0", h.Name, h.Uid, h.Gid)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(h.Name, "./")] = b
	}
}

// repoFiles reads the named files and every file below the named
// directories of the repository, by path relative to it.
func repoFiles(t *testing.T, paths ...string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range paths {
		err := filepath.WalkDir(filepath.Join("..", p), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel("..", path)
			out[filepath.ToSlash(rel)] = data
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}
