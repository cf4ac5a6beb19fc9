# motionzoo: the commands. `make demo` sets everything up and runs the main job; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
VENV_TF := .venv-tf
PY := $(VENV)/bin/python
PY_TF := $(VENV_TF)/bin/python
PIP_FLAGS := -q --disable-pip-version-check -c ci/constraints.txt
TORCH_PACKAGES := deepnag diverse_sampling nads_spade cdiffgan
EXISTING_TORCH_PACKAGES := $(foreach p,$(TORCH_PACKAGES),$(if $(wildcard packages/$(p)/pyproject.toml),$(p)))
DATASET ?= synthetic-kinect

.PHONY: help venv venv-tf demo test tox faults lint bench clean \
        $(addprefix train-,$(TORCH_PACKAGES) apo_tf) $(addprefix eval-,$(TORCH_PACKAGES) apo_tf) \
        experiment-nads_spade

help:
	@echo "make demo              set up .venv and run the main job (DeepNAG on synthetic Kinect gestures)"
	@echo "make test              every test suite through tox (lint, motionkit, each package, apo_tf in TF)"
	@echo "make faults            only the fault-suite cases (issue 20), with a table per package and class"
	@echo "make train-<pkg>       short default training run of a package (deepnag, diverse_sampling, ...);"
	@echo "                       each call makes a new run folder under runs/<pkg>/, RESUME=1 continues the latest"
	@echo "make eval-<pkg>        evaluate the last run of a package"
	@echo "make bench             side-by-side benchmarks (soft-DTW and every package's bench/)"
	@echo "make lint              ruff check"

# --- environments -------------------------------------------------------------------------------------------
$(VENV)/.installed: shared/pyproject.toml $(wildcard packages/*/pyproject.toml) ci/constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_FLAGS) --upgrade pip
	$(PY) -m pip install $(PIP_FLAGS) -e "shared[torch,test,bench]" \
		$(foreach p,$(EXISTING_TORCH_PACKAGES),-e "packages/$(p)[test]") ruff==0.17.6
	touch $@

$(VENV_TF)/.installed: shared/pyproject.toml packages/apo_tf/pyproject.toml ci/constraints.txt
	test -x $(PY_TF) || $(PYTHON) -m venv $(VENV_TF)
	$(PY_TF) -m pip install $(PIP_FLAGS) -e "shared[test]" -e "packages/apo_tf[test]"
	touch $@

venv: $(VENV)/.installed
venv-tf: $(VENV_TF)/.installed

# --- main jobs ----------------------------------------------------------------------------------------------
demo: train-deepnag

# DATASET=synthetic-kinect (default) | synthetic-pen | jk2017-kinect | dollar-gds; optional EPOCHS=, DATA_ROOT=,
# RESUME=1 (continue the latest run of that data set, e.g. after a killed `make demo`)
train-deepnag: venv
	$(PY) -m deepnag.main --model=DeepNAG --dataset=$(DATASET) $(if $(EPOCHS),--epochs=$(EPOCHS)) \
		$(if $(DATA_ROOT),--data-root=$(DATA_ROOT)) $(if $(RESUME),--resume)

eval-deepnag: venv
	$(PY) -m deepnag.main --evaluate=run:DeepNAG-$(DATASET) --metrics

train-diverse_sampling: venv
	$(PY) -m diverse_sampling.main --exp_name=synth_h36m_short_t1 --make-synthetic
	$(PY) -m diverse_sampling.main --exp_name=synth_h36m_short_t1 --is_train=1 --device cpu
	$(PY) -m diverse_sampling.main --exp_name=synth_h36m_short_t2 --is_train=1 --device cpu

eval-diverse_sampling: venv
	$(PY) -m diverse_sampling.main --exp_name=synth_h36m_short_t2 --train-classifier --device cpu
	$(PY) -m diverse_sampling.main evaluate --exp_name=synth_h36m_short_t2 --device cpu

train-nads_spade: venv
	$(PY) -m nads_spade.main make-synthetic --config packages/nads_spade/configs/cpu_small.yaml
	$(PY) -m nads_spade.main train-gan      --config packages/nads_spade/configs/cpu_small.yaml
	$(PY) -m nads_spade.main train-nads     --config packages/nads_spade/configs/cpu_small.yaml --gan_augment 1

eval-nads_spade: venv
	$(PY) -m nads_spade.main evaluate --config packages/nads_spade/configs/cpu_small.yaml

experiment-nads_spade: venv
	$(PY) -m nads_spade.main experiment --config packages/nads_spade/configs/cpu_experiment.yaml

train-cdiffgan: venv
	$(PY) -m cdiffgan.main continual --config cpu_small $(if $(RESUME),--resume)

eval-cdiffgan: venv
	$(PY) -m cdiffgan.main evaluate cpu_small_pseudo-align-fs-src_k7_fs1

train-apo_tf: venv-tf
	$(PY_TF) -m apo_tf.main train synth_big --max_steps=600000 $(if $(RESUME),--resume)

eval-apo_tf: venv-tf
	$(PY_TF) -m apo_tf.main infer synth_big
	$(PY_TF) -m apo_tf.main report synth_big
	$(PY_TF) -m apo_tf.main vis synth_big

# --- tests --------------------------------------------------------------------------------------------------
# tox runs each package in its own environment; two at a time on a 2-core machine.
$(VENV)-tox/bin/tox:
	$(PYTHON) -m venv $(VENV)-tox
	$(VENV)-tox/bin/pip install -q --disable-pip-version-check "tox==4.*"

# Each suite also reports its fault-suite cases (issue 20); ci/fault_report.py sums them per package and class.
FAULT_REPORT := $(CURDIR)/.tox/fault-report
test: $(VENV)-tox/bin/tox
	rm -rf $(FAULT_REPORT)
	MOTIONZOO_FAULT_REPORT=$(FAULT_REPORT) $(VENV)-tox/bin/tox run-parallel --parallel 2 --parallel-live
	$(PYTHON) ci/fault_report.py $(FAULT_REPORT)

tox: test

# Only the fault-suite cases (issue 20), in the development environments, with the table per package and class.
faults: $(VENV)/.installed venv-tf
	rm -rf $(FAULT_REPORT)
	MOTIONZOO_FAULT_REPORT=$(FAULT_REPORT) $(PY) -m pytest shared/tests -q -p no:cacheprovider -m fault
	@for p in $(EXISTING_TORCH_PACKAGES); do MOTIONZOO_FAULT_REPORT=$(FAULT_REPORT) \
		$(PY) -m pytest packages/$$p/tests -q -p no:cacheprovider -m fault || exit 1; done
	MOTIONZOO_FAULT_REPORT=$(FAULT_REPORT) $(PY_TF) -m pytest packages/apo_tf/tests -q -p no:cacheprovider -m fault
	$(PYTHON) ci/fault_report.py $(FAULT_REPORT)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .

bench: venv
	$(PY) shared/bench/softdtw.py
	@for p in $(EXISTING_TORCH_PACKAGES); do for b in packages/$$p/bench/*.py; do \
		[ -f "$$b" ] && { echo "== $$b"; $(PY) "$$b" || exit 1; }; done; done

clean:
	rm -rf .tox $(VENV) $(VENV_TF) $(VENV)-tox
