// Keepsake Android sample: the AAR module (:keepsake), the platform-free flow code (:flow, also
// compiled and tested without Gradle by scripts/test-mobile-flows.sh) and the app (:app).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "keepsake-android-sample"
include(":keepsake", ":flow", ":engine", ":app")
