#!/usr/bin/env python3
"""Checks the mobile projects and workflows for the failures a platform review found, on a machine
without Gradle, the Android SDK or Xcode: each check reads the files those tools would read and
asserts the property that makes the real build work. Run by scripts/test-mobile-scripts.sh.

Prints one `ok`/`FAIL` line per check and `project checks: N passed, M failed`; exits 1 on failure.
"""

import plistlib
import re
import tomllib
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
ANDROID = REPO / "android-sample"
IOS = REPO / "ios-sample"
WORKFLOWS = REPO / ".github" / "workflows"

# Gradle's conventional Kotlin source sets used by the sample (java-test-fixtures adds testFixtures).
SOURCE_SETS = {"main", "test", "testFixtures", "androidTest"}
TARGET_SDK = 36
IOS_DEPLOYMENT_TARGET = "18.4"

results = []


def check(name):
    """Decorator: runs the check now, recording ok or FAIL with the reason it raised."""

    def run(body):
        try:
            body()
            results.append((True, name, ""))
        except AssertionError as failure:
            results.append((False, name, str(failure)))
        except (OSError, KeyError, AttributeError, TypeError) as error:
            # A missing file or key is the same failure: the property cannot hold.
            results.append((False, name, f"{type(error).__name__}: {error}"))
        return body

    return run


def tracked(prefix, suffix=""):
    """Files under `prefix` that git tracks (build output such as src/main/generated is not)."""
    out = subprocess.run(
        ["git", "ls-files", "--", prefix], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    return [REPO / line for line in out.splitlines() if line.endswith(suffix)]


def gradle_files():
    return tracked("android-sample", ".gradle.kts")


def kotlin_sources():
    return tracked("android-sample", ".kt")


def module_and_set(path):
    """('flow', 'test') for android-sample/flow/src/test/kotlin/..., else None."""
    parts = path.relative_to(ANDROID).parts
    if len(parts) >= 4 and parts[1] == "src" and parts[3] == "kotlin":
        return parts[0], parts[2]
    return None


def declared_names(path):
    """Top-level classes, objects, interfaces and functions declared in a Kotlin file."""
    # Private declarations are invisible outside their file; `main` is every runner's entry point.
    pattern = re.compile(
        r"^(?:(?:internal|public|data|sealed|enum|abstract|open|inline|suspend)\s+)*"
        r"(?:class|object|interface|fun)\s+(?:<[^>]*>\s*)?([A-Za-z_][A-Za-z0-9_]*)",
        re.M,
    )
    return set(pattern.findall(path.read_text())) - {"main"}


def used_names(path):
    return set(re.findall(r"\b([A-Za-z_][A-Za-z0-9_]*)\b", path.read_text()))


# --- Android -------------------------------------------------------------------------------------


@check("android: every Kotlin source is in a conventional source set (src/<set>/kotlin)")
def _():
    stray = []
    for path in kotlin_sources():
        located = module_and_set(path)
        if located is None or located[1] not in SOURCE_SETS:
            stray.append(str(path.relative_to(REPO)))
    assert not stray, f"outside {sorted(SOURCE_SETS)}: {stray}"


@check("android: build files use no sourceSets[...] accessor and no kotlinOptions (an error from Kotlin 2.2)")
def _():
    bad = []
    for path in gradle_files():
        text = path.read_text()
        if re.search(r"sourceSets\s*\[", text):
            bad.append(f"{path.relative_to(REPO)}: sourceSets[...]")
        if re.search(r"^\s*kotlinOptions\s*\{", text, re.M):
            bad.append(f"{path.relative_to(REPO)}: kotlinOptions")
    assert not bad, bad


@check("android: tests use no other module's test sources; shared doubles are :flow test fixtures")
def _():
    by_module = {}
    for path in kotlin_sources():
        located = module_and_set(path)
        if located:
            by_module.setdefault(located, []).append(path)
    test_only = {}  # name -> module whose src/test declares it
    own = {}  # module -> names any of its source sets declares
    for (module, source_set), paths in by_module.items():
        for path in paths:
            names = declared_names(path)
            own.setdefault(module, set()).update(names)
            if source_set == "test":
                for name in names:
                    test_only[name] = module
    fixtures = set()
    for path in by_module.get(("flow", "testFixtures"), []):
        fixtures |= declared_names(path)
    problems = [] if fixtures else ["android-sample/flow/src/testFixtures/kotlin declares nothing"]
    for (module, source_set), paths in by_module.items():
        if source_set != "test":
            continue
        for path in paths:
            used = used_names(path)
            foreign = sorted(n for n in used if n in test_only and test_only[n] != module and n not in own[module])
            if foreign:
                problems.append(f"{path.relative_to(REPO)} uses {foreign} from another module's src/test")
            if module != "flow" and used & fixtures:
                build = (ANDROID / module / "build.gradle.kts").read_text()
                if 'testFixtures(project(":flow"))' not in build:
                    problems.append(f"{module}/build.gradle.kts lacks testImplementation(testFixtures(project(\":flow\")))")
    flow_build = (ANDROID / "flow" / "build.gradle.kts").read_text()
    if "java-test-fixtures" not in flow_build:
        problems.append("flow/build.gradle.kts does not apply java-test-fixtures")
    assert not problems, problems


@check(f"android: targetSdk and compileSdk are {TARGET_SDK} (Google Play requirement)")
def _():
    problems = []
    for path in gradle_files():
        text = path.read_text()
        for key in ("compileSdk", "targetSdk"):
            for value in re.findall(rf"\b{key}\s*=\s*(\d+)", text):
                if int(value) < TARGET_SDK:
                    problems.append(f"{path.relative_to(REPO)}: {key} = {value}")
    app = (ANDROID / "app" / "build.gradle.kts").read_text()
    if not re.search(rf"\btargetSdk\s*=\s*{TARGET_SDK}\b", app):
        problems.append(f"app/build.gradle.kts has no targetSdk = {TARGET_SDK}")
    assert not problems, problems


@check("android: the AAR publication has Maven coordinates, a POM and consumer rules keeping JNA and the bindings")
def _():
    build = (ANDROID / "keepsake" / "build.gradle.kts").read_text()
    for needle in ("maven-publish", 'groupId = "app.keepsake"', 'artifactId = "keepsake-android"', "pom {",
                   "licenses {", "scm {", 'consumerProguardFiles("consumer-rules.pro")', "jna:5.17.0@aar"):
        assert needle in build, f"keepsake/build.gradle.kts lacks {needle}"
    rules = (ANDROID / "keepsake" / "consumer-rules.pro").read_text()
    for needle in ("-keep class com.sun.jna.** { *; }", "-keep class app.keepsake.** { *; }"):
        assert needle in rules, f"consumer-rules.pro lacks {needle}"


@check("android: the daily backup worker is periodic, on an unmetered network, while charging")
def _():
    worker = (ANDROID / "app/src/main/kotlin/app/keepsake/sample/DailyBackupWorker.kt").read_text()
    for needle in ("NetworkType.UNMETERED", "setRequiresCharging(true)", "PeriodicWorkRequestBuilder<DailyBackupWorker>",
                   "enqueueUniquePeriodicWork", "dailyBackups.run()"):
        assert needle in worker, f"DailyBackupWorker.kt lacks {needle}"
    app = (ANDROID / "app" / "build.gradle.kts").read_text()
    assert "androidx.work:work-runtime-ktx" in app, "app depends on no WorkManager"


# --- iOS -----------------------------------------------------------------------------------------

PROJECT = yaml.safe_load((IOS / "project.yml").read_text())
APP = PROJECT["targets"]["KeepsakeSample"]
UI_TESTS = PROJECT["targets"]["KeepsakeSampleUITests"]



@check("ios: entitlements have properties (xcodegen rewrites a path-only entry empty) with the associated domain")
def _():
    entitlements = APP.get("entitlements", {})
    properties = entitlements.get("properties") or {}
    domains = properties.get("com.apple.developer.associated-domains") or []
    assert any(d.startswith("webcredentials:") for d in domains), f"no webcredentials domain in {properties}"
    # The committed file says the same, so a fresh `xcodegen generate` changes nothing.
    with open(IOS / entitlements["path"], "rb") as handle:
        committed = plistlib.load(handle)
    assert committed == properties, f"{entitlements['path']} {committed} differs from project.yml {properties}"


@check("ios: simulator builds are signed ad hoc, never CODE_SIGNING_ALLOWED=NO")
def _():
    for name, target in (("KeepsakeSample", APP), ("KeepsakeSampleUITests", UI_TESTS)):
        base = target.get("settings", {}).get("base", {})
        assert base.get("CODE_SIGN_IDENTITY[sdk=iphonesimulator*]") == "-", f"{name}: no ad-hoc simulator signing"
    for path in [IOS / "project.yml", *WORKFLOWS.glob("*.yml")]:
        code = "\n".join(line.split("#", 1)[0] for line in path.read_text().splitlines())
        assert not re.search(r"CODE_SIGNING_ALLOWED\s*[:=]\s*\"?NO", code), f"{path.name} disables signing"


@check("ios: the UI-test target generates its Info.plist (a signed bundle needs one)")
def _():
    value = str(UI_TESTS.get("settings", {}).get("base", {}).get("GENERATE_INFOPLIST_FILE"))
    assert value in ("YES", "True"), f"GENERATE_INFOPLIST_FILE is {value}"


@check(f"ios: deployment target stays iOS {IOS_DEPLOYMENT_TARGET} in the project and the packages")
def _():
    assert str(PROJECT["options"]["deploymentTarget"]["iOS"]) == IOS_DEPLOYMENT_TARGET
    packages = ["KeepsakeFlow", "KeepsakeEngine", "KeepsakeCloud"]
    for package in [*(IOS / f"{name}/Package.swift" for name in packages), REPO / "Package.swift"]:
        assert f'.iOS("{IOS_DEPLOYMENT_TARGET}")' in package.read_text(), f"{package.relative_to(REPO)}"


@check("ios: the BGProcessingTask identifier is permitted in Info.plist, with the processing background mode")
def _():
    source = (IOS / "KeepsakeSample/DailyBackupTask.swift").read_text()
    identifier = re.search(r'static let identifier = "([^"]+)"', source).group(1)
    info = APP["info"]["properties"]
    assert identifier in info.get("BGTaskSchedulerPermittedIdentifiers", []), f"{identifier} not permitted"
    assert "processing" in info.get("UIBackgroundModes", []), "no processing background mode"
    assert "BGProcessingTaskRequest" in source and "expirationHandler" in source


# --- the mobile profile --------------------------------------------------------------------------


@check("cargo: the mobile profile keeps panic=unwind (caught at the FFI) and symbols (uniffi-bindgen reads them)")
def _():
    with open(REPO / "Cargo.toml", "rb") as handle:
        profile = tomllib.load(handle)["profile"]["mobile"]
    assert profile.get("inherits") == "release", profile.get("inherits")
    assert profile.get("panic", "unwind") == "unwind", f"panic = {profile.get('panic')}"
    assert profile.get("strip") in (None, False, "none", "debuginfo"), f"strip = {profile.get('strip')}"
    for script in ("scripts/build-android.sh", "scripts/build-ios.sh"):
        assert re.search(r"^profile=mobile$", (REPO / script).read_text(), re.M), f"{script} does not default to mobile"


# --- workflows -----------------------------------------------------------------------------------


def workflow(name):
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(flow):
    return [step for job in flow["jobs"].values() for step in job.get("steps", [])]


@check("workflows: ios.yml runs Xcode 26 on macos-26 and picks an iOS 26 simulator, not a pinned 18.x one")
def _():
    flow = workflow("ios.yml")
    runners = {job["runs-on"] for job in flow["jobs"].values()}
    assert runners == {"macos-26"}, runners
    text = (WORKFLOWS / "ios.yml").read_text()
    assert "^Xcode 26" in text, "no Xcode 26 check"
    assert "SimRuntime.iOS-26" in text, "no iOS 26 runtime selection"
    assert not re.search(r"OS=18\.", text), "destination pinned to an iOS 18 runtime"


@check(f"workflows: android.yml runs the instrumentation test on an API {TARGET_SDK} emulator")
def _():
    levels = [step["with"]["api-level"] for step in steps(workflow("android.yml"))
              if str(step.get("uses", "")).startswith("reactivecircus/android-emulator-runner")]
    assert levels == [TARGET_SDK], levels


@check("workflows: every job has a timeout of at most 60 minutes")
def _():
    for path in WORKFLOWS.glob("*.yml"):
        for name, job in yaml.safe_load(path.read_text())["jobs"].items():
            assert 0 < int(job.get("timeout-minutes", 360)) <= 60, f"{path.name}:{name}"


@check("workflows: release.yml builds every ABI and Apple target in parallel jobs with the mobile profile")
def _():
    flow = workflow("release.yml")
    text = (WORKFLOWS / "release.yml").read_text()
    matrices = {name: job.get("strategy", {}).get("matrix", {}) for name, job in flow["jobs"].items()}
    abis = set(matrices.get("android-libs", {}).get("abi", []))
    targets = set(matrices.get("apple-libs", {}).get("target", []))
    assert abis == {"arm64-v8a", "armeabi-v7a", "x86_64", "x86"}, abis
    assert targets == {"aarch64-apple-ios", "aarch64-apple-ios-sim", "x86_64-apple-ios",
                       "aarch64-apple-darwin", "x86_64-apple-darwin"}, targets
    assert "--profile mobile" in text, "release libraries not built with the mobile profile"
    for needle in ("compute-checksum", "scripts/release-swift-package.sh", "publishReleasePublicationToLocalRepository",
                   "gh release"):
        assert needle in text, f"release.yml lacks {needle}"


@check("workflows: cross-abi.yml runs the core's tests on i686, aarch64 and armv7, the size report and the arm64 crypto proof")
def _():
    flow = workflow("cross-abi.yml")
    abis = set(flow["jobs"]["core-tests"]["strategy"]["matrix"]["abi"])
    assert abis == {"i686", "aarch64", "armv7"}, abis
    text = (WORKFLOWS / "cross-abi.yml").read_text()
    for needle in ("scripts/test-cross-abi.sh --packages", "scripts/test-cross-abi.sh --abi", "scripts/size-report.sh",
                   "scripts/arm64-crypto-report.sh"):
        assert needle in text, f"cross-abi.yml lacks {needle}"


def main():
    failed = 0
    for ok, name, reason in results:
        print(f"   {'ok  ' if ok else 'FAIL'} {name}" + ("" if ok else f": {reason}"))
        failed += 0 if ok else 1
    print(f"project checks: {len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
