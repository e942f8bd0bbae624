// Platform-free flow code (view-models over ports). Plain Kotlin/JVM, so it is compiled and tested
// here by `./gradlew :flow:test` and, without Gradle, by scripts/test-mobile-flows.sh.
plugins {
    id("org.jetbrains.kotlin.jvm")
}

kotlin { jvmToolchain(17) }

dependencies {
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
    testImplementation(kotlin("test-junit"))
}
