# thumbgen — one Makefile driven by pkg-config.
#   make          build build/thumbgen (runs scripts/setup first if packages are missing)
#   make test     set-up + build + fixtures + all tests
#   make check    the same tests built with AddressSanitizer + UndefinedBehaviorSanitizer
#                 and TG_ASSERT on (src/core/assert.h)
#   make bench    benchmarks (bench/run), results go to bench/RESULTS.md by hand
#   make eval     the real-footage evaluation (eval/run; fetches videos, not part of make test)
#   make fuzz     libFuzzer targets (fuzz/, clang), each run FUZZ_SECONDS (default 60)
#   make serve    set-up + build + start the web app (when it exists)
#   make install  put thumbgen on PATH (PREFIX=/usr/local)

PKGS    = libavformat libavcodec libavutil libswscale libavfilter openblas imagequant libgif jansson libmicrohttpd sqlite3 libpq \
          libwebp libwebpmux libwebpdemux
BUILD  ?= build
PREFIX ?= /usr/local
CC     ?= cc
OPT    ?= -O2 -g
SAN    ?=
WARN    = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wvla -Wformat=2 -Wno-format-nonliteral
CFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(OPT) $(SAN) $(WARN) \
          -Iinclude -Isrc $(shell pkg-config --cflags $(PKGS)) $(CFLAGS)
LDLIBS_ALL = $(shell pkg-config --libs $(PKGS)) -lgomp -lm -lpthread $(LDLIBS)
TEST_LIBS  = $(shell pkg-config --libs check)

# libthumbgen is the pipeline; the application (the command line, the web app, its job
# store, yt-dlp and URL fetching) is built on it, as curl's src/ on its lib/.
APP_DIRS = cli serve store fetch
LIB_SRC  = $(sort $(filter-out $(addprefix src/,$(addsuffix /%,$(APP_DIRS))),$(wildcard src/*/*.c)))
APP_SRC  = $(sort $(filter-out src/cli/main.c,$(foreach d,$(APP_DIRS),$(wildcard src/$(d)/*.c))))
TEST_SRC = $(sort $(wildcard tests/unit/test_*.c))
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
APP_OBJ  = $(APP_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o) $(patsubst %.c,$(BUILD)/%.o,$(wildcard tests/*.c))
SUITES   = $(patsubst tests/unit/test_%.c,%,$(TEST_SRC))

.PHONY: update-ytdlp all setup test check bench serve install clean fixtures run-tests browser-test example web format-check eval fuzz
.DEFAULT_GOAL := all

all: setup
	@$(MAKE) --no-print-directory $(BUILD)/thumbgen

setup:
	@scripts/setup

$(BUILD)/libthumbgen.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The application but main() (src/cli but main.c, serve, store, fetch): an archive the
# tests link too (they read the command and option tables, run the store and the server).
$(BUILD)/libthumbgen-app.a: $(APP_OBJ)
	@rm -f $@
	ar rcs $@ $^

APP_LIBS = $(BUILD)/libthumbgen-app.a $(BUILD)/libthumbgen.a

$(BUILD)/thumbgen: $(BUILD)/src/cli/main.o $(APP_LIBS)
	$(CC) $(OPT) $(SAN) -o $@ $^ $(LDLIBS_ALL)

# where an installed thumbgen finds the weights (a build tree uses ./models)
$(BUILD)/src/nn/models.o: CFLAGS_ALL += -DTG_MODELS_DIR='"$(PREFIX)/share/thumbgen/models"'

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

# The test runner: every tests/unit/test_NAME.c defines Suite *suite_NAME(void).
$(BUILD)/tests/suites.h: $(TEST_SRC)
	@mkdir -p $(dir $@)
	@printf '%s\n' $(foreach s,$(SUITES),'TG_SUITE($(s))') > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/main.o: tests/main.c $(BUILD)/tests/suites.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -I$(BUILD)/tests -Itests -MMD -MP -c -o $@ $<

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests -MMD -MP -c -o $@ $<

$(BUILD)/tests/run: $(TEST_OBJ) $(APP_LIBS)
	$(CC) $(OPT) $(SAN) -o $@ $^ $(TEST_LIBS) $(LDLIBS_ALL)

# The CNN engine's benchmark program (run by bench/nn.sh).
$(BUILD)/nn-bench: bench/nn-bench.c $(BUILD)/libthumbgen.a
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libthumbgen.a $(LDLIBS_ALL)

# The job queue's benchmark program (run by bench/scale.sh).
$(BUILD)/claims-bench: bench/claims-bench.c $(APP_LIBS)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(APP_LIBS) $(LDLIBS_ALL)

# The face detector's benchmark program (run by bench/faces.sh).
$(BUILD)/faces-bench: bench/faces-bench.c $(BUILD)/libthumbgen.a
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libthumbgen.a $(LDLIBS_ALL)

$(BUILD)/subjects-bench: bench/subjects-bench.c $(BUILD)/libthumbgen.a
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libthumbgen.a $(LDLIBS_ALL)

fixtures:
	@tests/fixtures/make-fixtures.sh $(BUILD)/fixtures

# The real-footage evaluation: eval/README.md. THUMBGEN=, EVAL_ARGS= etc. pass through.
eval: all
	THUMBGEN="$${THUMBGEN:-$(BUILD)/thumbgen}" EVAL_COMMAND="make eval" eval/run

# scripts/pg-test runs the tests beside a throw-away PostgreSQL cluster (TG_PG), stopped
# and removed afterwards whatever happens; without one, the PostgreSQL tests fail saying why.
run-tests: $(BUILD)/thumbgen $(BUILD)/tests/run fixtures
	TG_BIN=$(abspath $(BUILD)/thumbgen) TG_FIXTURES=$(abspath $(BUILD)/fixtures) \
	TG_TMP=$(abspath $(BUILD)/tmp) TG_MODELS=$(abspath models) scripts/pg-test $(BUILD)/tests/run

# The empty page's example: made by thumbgen itself from a fixture (never committed). The
# page paints a still first (the best keyframe, 12 kB) and swaps in the animation (150 kB)
# once it has loaded.
example: $(BUILD)/thumbgen fixtures
	@test -s web/example.webp -a web/example.webp -nt $(BUILD)/thumbgen || \
	    $(BUILD)/thumbgen make $(BUILD)/fixtures/story.mp4 -o web/example.webp --width 320 \
	    --clips 3 --clip-len 1 --fps 8 --quality 50 --max-bytes 150k -q
	@test -s web/example-still.webp -a web/example-still.webp -nt $(BUILD)/thumbgen || \
	    $(BUILD)/thumbgen make $(BUILD)/fixtures/story.mp4 -o web/example-still.webp --width 320 \
	    --style slideshow --keyframes 1 --quality 60 -q

# The page's text files gzipped at build time: the server sends NAME.gz to a browser that
# takes gzip, as long as it is not older than NAME (an edited file is sent as it is).
WEB_GZ = $(addsuffix .gz,$(wildcard web/*.html web/*.css web/*.js))
web/%.gz: web/%
	gzip -9 -n -c $< > $@.tmp && mv $@.tmp $@

# Everything the page serves: the example and the gzipped files.
web: example $(WEB_GZ)

# The page in Debian's Chromium, driven by playwright-core (tests/browser).
browser-test: $(BUILD)/thumbgen fixtures web
	@if [ -f tests/browser/ui.test.js ]; then \
	    THUMBGEN_BIN=$(abspath $(BUILD)/thumbgen) TG_FIXTURES=$(abspath $(BUILD)/fixtures) \
	    node tests/browser/ui.test.js; fi

test: setup
	@TG_SETUP_BROWSER=1 scripts/setup
	@$(MAKE) --no-print-directory run-tests
	@$(MAKE) --no-print-directory browser-test

check: setup
	@$(MAKE) --no-print-directory run-tests BUILD=build-san OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -DTG_ASSERTS" \
	    ASAN_OPTIONS=detect_leaks=1 CK_TIMEOUT_MULTIPLIER=4

bench: all fixtures
	@bench/run
	@bench/serve-load.sh

# upgrade thumbgen's own yt-dlp (.venv/) in place (scripts/setup-ytdlp)
update-ytdlp:
	@scripts/setup-ytdlp --upgrade

# Fuzzing (not part of test/check): the library built by clang with ASan+UBSan and
# coverage in build-fuzz/, one libFuzzer binary per fuzz/fuzz_NAME.c, each run for
# FUZZ_SECONDS against fuzz/corpus/NAME (results: bench/RESULTS.md, "Fuzzing").
FUZZ_SECONDS ?= 60
FUZZ_NAMES    = $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all -fsanitize=fuzzer-no-link

fuzz: setup
	@TG_SETUP_FUZZ=1 scripts/setup
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=clang OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="$(FUZZ_SAN)" $(addprefix build-fuzz/fuzz_,$(FUZZ_NAMES))
	@fuzz/run $(FUZZ_SECONDS) build-fuzz $(FUZZ_NAMES)

$(BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(APP_LIBS)
	$(CC) $(CFLAGS_ALL) -Ifuzz -fsanitize=fuzzer -o $@ $< $(APP_LIBS) $(LDLIBS_ALL)

serve: all web
	$(BUILD)/thumbgen serve --host 127.0.0.1 --port 8000 --data data

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/thumbgen
	install -m 0755 $(BUILD)/thumbgen $(DESTDIR)$(PREFIX)/bin/thumbgen
	cp -r models $(DESTDIR)$(PREFIX)/share/thumbgen/

format-check:
	@clang-format --dry-run --Werror $(shell find src include tests -name '*.[ch]')

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD) build-san -name '*.d' -type f 2>/dev/null)
