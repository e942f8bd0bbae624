// Platform-free flow code (view-models over ports). Plain Kotlin/JVM, so it is compiled and tested
// here by `./gradlew :flow:test` and, without Gradle, by scripts/test-mobile-flows.sh.
// Layout is Gradle's convention: src/main/kotlin, src/test/kotlin, and src/testFixtures/kotlin for
// the test doubles of the ports, which :engine's tests use too (testFixtures(project(":flow"))).
plugins {
    id("org.jetbrains.kotlin.jvm")
    `java-test-fixtures`
}

kotlin { jvmToolchain(17) }

dependencies {
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
    testFixturesImplementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
    testImplementation(kotlin("test-junit"))
}
