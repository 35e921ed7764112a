# The two commands of the README:
#   make demo   installs what is missing, builds the UI and the app, then opens the demo
#               (built-in Google emulator, sample appointments) when no Google client is
#               configured, else the app (under Xvfb when there is no display)
#   make test   installs what is missing, then everything CI checks (scripts/test.sh)
SHELL := /bin/bash
# Where setup.sh puts rustup's cargo and a private Node when the system lacks them.
export PATH := $(HOME)/.cargo/bin:$(HOME)/.local/node/bin:$(PATH)

.PHONY: demo test bench setup ui icons soak package

demo: ui
	scripts/demo.sh

test: setup
	scripts/test.sh

# Store and start-up numbers with 10,000 appointments (release build).
bench: ui
	scripts/bench.sh

# Fault and crash soak: simulated use with every fault kind, 50 SIGKILLs, then both sides
# compared field by field (seeded: SOAK_SEED=N make soak repeats a run).
soak: setup
	scripts/soak.sh

# Linux packages: .deb and .rpm in target/release/bundle/ (release build, Tauri's bundler
# from npm). `make package APPIMAGE=1` adds an AppImage where its tools can be fetched.
package: setup
	APPIMAGE=$(APPIMAGE) scripts/package.sh

setup:
	scripts/setup.sh

ui: setup
	npm --prefix ui run build

icons:
	scripts/icons.sh
