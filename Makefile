# Build, run and test the two platforms. `make help` lists the targets.
BUILD   ?= build
SAN     ?=
PKGS     = libmicrohttpd jansson libpq uuid libcurl libcrypto
CC      ?= cc
OPT     ?= -O2
CFLAGS  += -std=c11 -D_GNU_SOURCE -g $(OPT) -MMD -MP -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           -Icommon $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
# The build make fuzz makes (in build-fuzz/): clang's coverage for libFuzzer
# in every object, with ASan and UBSan.
ifeq ($(FUZZ),1)
CC      := clang
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
           -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

COMMON_SRC := $(wildcard common/*.c common/*/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
LIBCOMMON  := $(BUILD)/libcommon.a
GRID_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard grid-svc/*.c))
CUST_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cust-svc/*.c))
UNIT_SRC   := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN   := $(UNIT_SRC:%.c=$(BUILD)/%)
ITEST_SRC  := $(wildcard tests/integration/test_*.c)
ITEST_LIB  := $(filter-out $(ITEST_SRC),$(wildcard tests/integration/*.c))
ITEST_BIN  := $(ITEST_SRC:%.c=$(BUILD)/%)
# Integration tests see both services' declarations, so a collection is tested by declaring it.
DECL_OBJ   := $(BUILD)/obj/grid-svc/collections.o $(BUILD)/obj/cust-svc/collections.o
# Both services whole but for main(): unit tests that build a daemon's route table link them.
SVC_OBJ    := $(filter-out %/main.o,$(GRID_OBJ) $(CUST_OBJ))
SVC_UNIT   := $(addprefix $(BUILD)/tests/unit/,engine/test_openapi engine/test_resource \
                model/test_catalogue topology/test_walk_sql)
# Fuzz targets (tests/fuzz/fuzz_<name>.c), on both services' objects too:
# replayed on their committed corpora by make test, run by make fuzz.
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_REPLAY := $(FUZZ_SRC:%.c=$(BUILD)/%)
FUZZERS     := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60
BINS       := $(BUILD)/grid-svc $(BUILD)/cust-svc $(BUILD)/bizcode $(BUILD)/citygen $(BUILD)/bareread

.PHONY: all deps test test-ha unit demo up down bench fuzz fuzzers clean help
all: $(BINS) $(UNIT_BIN) $(ITEST_BIN) $(FUZZ_REPLAY)

help:
	@echo "make          build both daemons, bizcode and the tests (into $(BUILD)/)"
	@echo "make demo     install what is missing, start the stack, load a demo grid, run examples"
	@echo "make up       start PostgreSQL and both daemons with empty databases; make down stops them"
	@echo "make test     every test, plain and under ASan+UBSan, on a throw-away stack"
	@echo "make test-ha  both daemons through the loss of their primary (pg_auto_failover, ~2.5 min)"
	@echo "make bench    load a 1,000,000-customer city into a fresh stack, measure, write BENCHMARKS.md"
	@echo "make fuzz     each fuzz target under libFuzzer (clang, ASan+UBSan) for FUZZ_SECONDS (60) each"

deps:
	@scripts/deps.sh

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) -c -o $@ $<

# Each daemon compiles the other's declarations too (peer_decls.c).
$(BUILD)/obj/grid-svc/peer_decls.o: cust-svc/collections.c
$(BUILD)/obj/cust-svc/peer_decls.o: grid-svc/collections.c

$(LIBCOMMON): $(COMMON_OBJ)
	@$(AR) rcs $@ $^

$(BUILD)/grid-svc: $(GRID_OBJ) $(LIBCOMMON)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/cust-svc: $(CUST_OBJ) $(LIBCOMMON)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bizcode: $(BUILD)/obj/tools/bizcode.o $(LIBCOMMON)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/citygen: $(BUILD)/obj/tools/citygen.o $(BUILD)/obj/tools/citygen_readings.o $(LIBCOMMON)
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The bench's yardstick for the point read: not a part of the platforms.
$(BUILD)/bareread: $(BUILD)/obj/tools/bareread.o
	@echo "  LINK    $@"
	@$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(SVC_UNIT): $(BUILD)/tests/unit/%: tests/unit/%.c $(SVC_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) -Igrid-svc -Icust-svc $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/integration/%: tests/integration/%.c $(ITEST_LIB) $(wildcard tests/integration/*.h) $(DECL_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) -Itests/integration -Igrid-svc -Icust-svc $(LDFLAGS) -o $@ $< $(ITEST_LIB) $(DECL_OBJ) $(LIBCOMMON) $(LDLIBS) -lcmocka

# A fuzz target with tests/fuzz/replay.c: its corpus run once, as a test.
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(SVC_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  TEST    $@"
	@$(CC) $(CFLAGS) -Igrid-svc -Icust-svc $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(SVC_OBJ) \
	    $(LIBCOMMON) $(LDLIBS)

# The same target under libFuzzer (make fuzz, with FUZZ=1).
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(SVC_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	@$(CC) $(CFLAGS) -Igrid-svc -Icust-svc -fsanitize=fuzzer $(LDFLAGS) -o $@ $< $(SVC_OBJ) \
	    $(LIBCOMMON) $(LDLIBS)

fuzzers: $(FUZZERS)

# Every test twice: plain, then with AddressSanitizer and UndefinedBehaviorSanitizer.
test: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory all BUILD=build-san SAN=1 OPT=-O1
	@tests/run.sh build build-san

# Failover: a pg_auto_failover formation of its own (scripts/ha.sh), its primary lost under
# write load from both daemons of $(BUILD): see tests/failover-check.sh.
test-ha: deps
	@$(MAKE) --no-print-directory all
	@tests/failover-check.sh $(BUILD)

unit: all
	@tests/run.sh --unit-only $(BUILD)

up: deps all
	@scripts/stack.sh up

down:
	@scripts/stack.sh down

demo: deps all
	@scripts/stack.sh up
	@examples/run-all.sh

# Loads a synthetic city (BENCH_CUSTOMERS, default 1,000,000) into a fresh
# stack and measures it: see scripts/bench.sh. Writes BENCHMARKS.md.
bench: deps all
	@scripts/bench.sh

# Each fuzz target for FUZZ_SECONDS on a copy of its corpus, one after
# another: see scripts/fuzz.sh. Exits non-zero if any crashed.
fuzz: deps
	@$(MAKE) --no-print-directory fuzzers BUILD=build-fuzz FUZZ=1
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh build-fuzz $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)

clean:
	rm -rf build build-san build-fuzz

# What each object and test includes, as the compiler saw it (-MMD -MP).
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
