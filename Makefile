# The README's two commands: `make demo` runs the main job, `make test` runs every test.
# Both start with `make setup`, which installs only what is missing.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
# render-3d's Blender (make photoreal) has a venv of its own: bpy pins numpy 1.26
PHOTOREAL_VENV := .venv-photoreal
PY     := $(VENV)/bin/python
SV     := $(VENV)/bin/soroban-vision
OUT    ?= out
PORT   ?= 8000
export TF_CPP_MIN_LOG_LEVEL ?= 2
export CHROMIUM ?= $(shell command -v chromium 2>/dev/null)

.PHONY: setup test lint demo model publish-model frame-model publish-frame-model package wheel npm-pack lock clean photoreal photoreal-train

setup: $(VENV)/.installed web/node_modules/.installed
	@bash scripts/ensure-chromium.sh
	@bash scripts/ensure-postgres.sh

$(VENV)/.installed: requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "soroban-vision needs Python 3.11, found " + sys.version.split()[0]'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

web/node_modules/.installed: web/package-lock.json web/package.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

# Test files run on TEST_WORKERS processes (pytest-xdist); a file's tests stay on one, so a module's
# expensive fixture (a bench run, a trained model) is built once
TEST_WORKERS ?= 2
test: lint $(PHOTOREAL_VENV)/.installed
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=15

demo: setup
	@rm -rf $(OUT)/demo-data $(OUT)/demo-test $(OUT)/demo-run
	$(SV) render --out $(OUT)/demo-data --per-digit 600 --seed 7 --preview $(OUT)/demo-preview.png
	$(SV) render --out $(OUT)/demo-test --per-digit 100 --seed 8
	$(SV) train --data $(OUT)/demo-data --epochs 6 --batch-size 128 --seed 7 --out $(OUT)/demo-run
	$(SV) evaluate $(OUT)/demo-run --data $(OUT)/demo-test --plot $(OUT)/demo-confusion.png
	@echo "shipped model on the same test set:"
	$(SV) evaluate models/column --data $(OUT)/demo-test
	@echo "demo outputs: $(OUT)/demo-preview.png $(OUT)/demo-run/ $(OUT)/demo-confusion.png"
	$(SV) serve-demo --port $(PORT)

# The shipped default model, in three stages. 1: classic rendered columns from a fixed seed, trained
# from scratch (about 40 minutes on 2 cores). 2: fine-tuned on classic columns mixed with the wide
# variety (hands, bead and frame looks, light, blur) and a tenth of covered columns (occluded/),
# trained toward no information so the reader flags them. 3: fine-tuned again with crops cut from
# whole scenes the way the reader cuts them (`dataset scenes`): wide scenes, and Blender scenes
# (`make photoreal-train`, a seed of its own), so it sees perspective, small sorobans, lenses and
# the 3D renderer's beads. Then tested on a classic set rendered with a seed training never saw.
MODEL_SEED ?= 1001
WIDE_SEED  ?= 1002
SCENE_SEED ?= 3201
TEST_SEED  ?= 9999
model: setup photoreal-train
	@rm -rf $(OUT)/model-data $(OUT)/model-base $(OUT)/model-classic $(OUT)/model-wide $(OUT)/model-stage2 \
	  $(OUT)/model-scenes $(OUT)/model-crops $(OUT)/model-run $(OUT)/test-data
	$(SV) render --out $(OUT)/model-data --per-digit 6000 --seed $(MODEL_SEED)
	$(SV) train --data $(OUT)/model-data --epochs 30 --batch-size 128 --seed $(MODEL_SEED) \
	  --cache-limit-mb 0 --out $(OUT)/model-base
	$(SV) render --out $(OUT)/model-classic --per-digit 1500 --seed $(MODEL_SEED)
	$(SV) render --out $(OUT)/model-wide --per-digit 3000 --seed $(WIDE_SEED) --variety wide --occluded-share 0.1
	$(SV) train --init-from $(OUT)/model-base --data $(OUT)/model-classic --data $(OUT)/model-wide \
	  --epochs 12 --batch-size 128 --learning-rate 1e-3 --seed $(MODEL_SEED) --cache-limit-mb 2500 --out $(OUT)/model-stage2
	$(call stage3_data)
	$(SV) train --init-from $(OUT)/model-stage2 $(STAGE3_DATA) \
	  --epochs 20 --batch-size 128 --learning-rate 5e-4 --seed $(MODEL_SEED) --cache-limit-mb 2500 --out $(OUT)/model-run
	$(SV) render --out $(OUT)/test-data --per-digit 500 --seed $(TEST_SEED)
	$(SV) evaluate $(OUT)/model-run --data $(OUT)/test-data --json $(OUT)/model-run/test.json
	$(MAKE) publish-model

# Stage 3's data: the first 1000 classic and 1500 wide columns per digit of stage 2's seeds, and the
# crops of 1000 wide scenes (half with markers) and of the Blender training scenes, three per rod.
STAGE3_DATA = --data $(OUT)/model-scenes/classic --data $(OUT)/model-scenes/wide \
  --data $(OUT)/model-crops/wide --data $(OUT)/model-crops/3d
define stage3_data
	$(SV) render --out $(OUT)/model-scenes/classic --per-digit 1000 --seed $(MODEL_SEED)
	$(SV) render --out $(OUT)/model-scenes/wide --per-digit 1500 --seed $(WIDE_SEED) --variety wide --occluded-share 0.1
	$(SV) render-scenes --out $(OUT)/model-scenes/wide-off --count 500 --seed $(SCENE_SEED) --markers off --variety wide
	$(SV) render-scenes --out $(OUT)/model-scenes/wide-on --count 500 --seed $$(($(SCENE_SEED) + 1)) --markers on --variety wide
	$(SV) dataset scenes $(OUT)/model-scenes/wide-off $(OUT)/model-scenes/wide-on --out $(OUT)/model-crops/wide --seed 1
	$(SV) dataset scenes $(TRAIN_3D) --out $(OUT)/model-crops/3d --seed 2 --per-column 3
endef

# Copy a trained run into models/column and export it: TF.js float32 and float16, and ONNX.
RUN ?= $(OUT)/model-run
publish-model: setup
	rm -rf models/column && mkdir -p models/column
	cp $(RUN)/model.keras $(RUN)/model-card.md $(RUN)/metrics.json $(RUN)/training.png $(RUN)/test.json models/column/
	$(PY) scripts/model_card_test.py models/column $(TEST_SEED)
	$(SV) export models/column/model.keras --out models/column/tfjs
	$(SV) export models/column/model.keras --out models/column/tfjs-float16 --precision float16
	$(SV) export models/column/model.keras --out $(OUT)/onnx-export --format onnx
	mv $(OUT)/onnx-export/model.onnx $(OUT)/onnx-export/contract.json models/column/ && rm -rf $(OUT)/onnx-export

# The shipped frame model (models/frame) from its fixed seeds: scenes without markers (wide, 300 each
# of 9-31 rods, seeds 100-105; classic, 400 of 13 rods, seed 201) and 600 soroban-free tables, 20
# epochs (about 30 minutes on 2 cores). `make publish-frame-model` then exports it into models/frame;
# its card (models/frame/model-card.md) is written by hand from the run's figures.
FRAME_RUN_DIR ?= $(OUT)/frame-model
FRAME_RODS    := 9 11 13 17 23 31
frame-model: setup
	@rm -rf $(FRAME_RUN_DIR)
	@seed=100; for rods in $(FRAME_RODS); do \
	  $(SV) render-scenes --out $(FRAME_RUN_DIR)/scenes/wide-$$rods --count 300 --columns $$rods \
	    --seed $$seed --variety wide || exit 1; seed=$$((seed + 1)); done
	$(SV) render-scenes --out $(FRAME_RUN_DIR)/scenes/classic-13 --count 400 --columns 13 --seed 201
	$(SV) train-frame $(foreach r,$(FRAME_RODS),--scenes $(FRAME_RUN_DIR)/scenes/wide-$(r)) \
	  --scenes $(FRAME_RUN_DIR)/scenes/classic-13 --tables 600 --epochs 20 --batch-size 32 \
	  --learning-rate 3e-3 --seed 2 --examples $(FRAME_RUN_DIR)/examples --out $(FRAME_RUN_DIR)/run

# Copy a trained frame model into models/frame and export it: TF.js float32 and ONNX, each checked.
FRAME_RUN ?= $(FRAME_RUN_DIR)/run
publish-frame-model: setup
	cp $(FRAME_RUN)/model.keras models/frame/model.keras
	cp $(FRAME_RUN)/history.json models/frame/training-history.json
	cp $(FRAME_RUN)/metrics.json models/frame/training-metrics.json
	rm -rf models/frame/tfjs $(OUT)/frame-onnx
	$(SV) export models/frame/model.keras --out models/frame/tfjs
	$(SV) export models/frame/model.keras --out $(OUT)/frame-onnx --format onnx
	mv $(OUT)/frame-onnx/model.onnx $(OUT)/frame-onnx/contract.json models/frame/ && rm -rf $(OUT)/frame-onnx

# What users install: the wheel (base install: read, classify, watch, serve-demo and the API; the model
# and the browser library inside it) and the npm package (web/: library, types, model). Both into dist/.
package: wheel npm-pack

wheel: setup
	rm -rf build dist/soroban_vision-*.whl  # build/ would carry files deleted since the last build
	$(PY) -m pip wheel --quiet --no-deps -w dist .
	@ls -l dist/soroban_vision-*.whl

npm-pack: setup
	mkdir -p dist && cd web && npm pack --silent --pack-destination ../dist
	@ls -l dist/soroban-vision-*.tgz

# The photoreal renderer (render-3d): Blender's bpy 4.5 in its own venv, because it pins numpy 1.26 and
# the project runs on numpy 2. `make photoreal` installs it and renders the cached held-out 3D sets
# (seeds training never sees), completing a set already begun. Hours on 2 cores.
HELDOUT_3D     ?= $(OUT)/heldout
HELDOUT_3D_N   ?= 200
$(PHOTOREAL_VENV)/.installed: requirements-photoreal.lock
	@test -x $(PHOTOREAL_VENV)/bin/python || $(PYTHON) -m venv $(PHOTOREAL_VENV)
	@echo '*' > $(PHOTOREAL_VENV)/.gitignore
	$(PHOTOREAL_VENV)/bin/python -m pip install --quiet --upgrade pip==25.3
	$(PHOTOREAL_VENV)/bin/python -m pip install --quiet -r requirements-photoreal.lock
	@touch $@

# --resume keeps what a set's manifest holds (a stopped run, or a smaller set: a prefix of this one)
render_3d = nice -n 10 $(SV) render-3d --resume --out $(HELDOUT_3D)/$(1) \
  --count $(HELDOUT_3D_N) --seed $(2) --markers $(3) --columns 13 --size 640x480
photoreal: setup $(PHOTOREAL_VENV)/.installed
	@$(call render_3d,3d-markers,888001,on)
	@$(call render_3d,3d-nomarkers,888002,off)

# The Blender scenes stage 3 of `make model` trains on: a seed of their own, cached and completed the
# same way (about 20 minutes on 2 cores).
TRAIN_3D_SEED ?= 3101
TRAIN_3D_N    ?= 400
TRAIN_3D      := $(OUT)/photoreal-train/s$(TRAIN_3D_SEED)
photoreal-train: setup $(PHOTOREAL_VENV)/.installed
	nice -n 10 $(SV) render-3d --resume --out $(TRAIN_3D) --count $(TRAIN_3D_N) --seed $(TRAIN_3D_SEED) \
	  --markers off --columns 13 --size 640x480

# Re-pin every Python package from the current environment.
lock:
	$(PY) -m pip freeze --exclude-editable | grep -v '^soroban-vision' \
	  | sed '1i # Every package of the Python environment, pinned exactly. Made by `make lock` (pip freeze).' > requirements.lock

clean:
	rm -rf $(OUT) .pytest_cache .ruff_cache build dist
