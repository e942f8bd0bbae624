# Writes the XCTMain call (Linux has no XCTest discovery without SwiftPM) listing every test method
# of every XCTestCase subclass in the Swift files given; async tests go through asyncTest.
# Used by scripts/test-mobile-flows.sh: awk -f scripts/xctest-linux-main.awk Tests/*/*.swift > main.swift
/^(final )?class [A-Za-z0-9_]+ *: *XCTestCase/ {
    match($0, /class [A-Za-z0-9_]+/); cls = substr($0, RSTART + 6, RLENGTH - 6)
}
/^ *(@MainActor )?func test[A-Za-z0-9_]*\(\)/ {
    match($0, /func test[A-Za-z0-9_]*/); name = substr($0, RSTART + 5, RLENGTH - 5)
    entry = ($0 ~ /\) *async/) ? "asyncTest(" cls "." name ")" : cls "." name
    tests[cls] = tests[cls] "        (\"" name "\", " entry "),\n"
    if (!(cls in order)) { order[cls] = ++n; names[n] = cls }
}
END {
    print "import XCTest"
    print "XCTMain(["
    for (i = 1; i <= n; i++) { printf "    testCase([\n%s    ]),\n", tests[names[i]] }
    print "])"
}
