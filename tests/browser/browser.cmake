# browser.cmake: registers each scenario of tests/browser/dashboard.test.mjs as CTest test
# browser.<name>, label "browser": Debian's chromium (headless, --no-sandbox) driven by
# puppeteer-core, installed from npm into tests/browser/node_modules on first use (the
# browser.setup fixture). Skipped at configure time when node, npm or chromium is missing.
find_program(LG_NODE node)
find_program(LG_NPM npm)
find_program(LG_CHROMIUM chromium)
if(NOT LG_NODE OR NOT LG_NPM OR NOT LG_CHROMIUM)
  message(STATUS "browser tests: off (need node, npm and chromium: bash scripts/deps.sh)")
  return()
endif()
set(LG_BROWSER_DIR ${CMAKE_CURRENT_LIST_DIR})
add_test(NAME browser.setup
         COMMAND ${LG_NPM} install --no-audit --no-fund --prefix ${LG_BROWSER_DIR}
         WORKING_DIRECTORY ${LG_BROWSER_DIR})
set_tests_properties(browser.setup PROPERTIES LABELS browser TIMEOUT 300 FIXTURES_SETUP browser_npm)
foreach(name overview cli_task submit_image cancel admin_token worker_dead)
  add_test(NAME browser.${name}
           COMMAND ${LG_NODE} ${LG_BROWSER_DIR}/dashboard.test.mjs $<TARGET_FILE:legacygpu_cli> ${CMAKE_SOURCE_DIR}
                   ${CMAKE_CURRENT_BINARY_DIR}/browser/${name} ${name})
  set_tests_properties(browser.${name} PROPERTIES LABELS browser TIMEOUT 120 FIXTURES_REQUIRED browser_npm
                       ENVIRONMENT LG_CHROMIUM=${LG_CHROMIUM})
endforeach()
