# Configures respool as a user would before installing it (its tests, benchmarks and examples off), then installs it
# into PREFIX with `cmake --install --prefix`, which also checks that the installed files do not depend on the prefix
# chosen at configure time.
#   cmake -DSOURCE_DIR=.. -DBINARY_DIR=.. -DPREFIX=.. -DGENERATOR=.. -DCXX=.. -P install.cmake
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

file(REMOVE_RECURSE "${BINARY_DIR}" "${PREFIX}")
respool_run("configuring respool" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${BINARY_DIR} -G ${GENERATOR}
            -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release -DRESPOOL_BUILD_TESTS=OFF
            -DRESPOOL_BUILD_BENCHMARKS=OFF -DRESPOOL_BUILD_EXAMPLES=OFF)
respool_run("building respool" ${CMAKE_COMMAND} --build ${BINARY_DIR} --config Release)
respool_run("installing respool" ${CMAKE_COMMAND} --install ${BINARY_DIR} --config Release --prefix ${PREFIX})

foreach(expected "include/respool/respool.hpp" "include/respool/pool.hpp")
  if(NOT EXISTS "${PREFIX}/${expected}")
    message(FATAL_ERROR "not installed: ${expected}")
  endif()
endforeach()
file(GLOB_RECURSE config "${PREFIX}/*/respoolConfig.cmake")
file(GLOB_RECURSE version "${PREFIX}/*/respoolConfigVersion.cmake")
file(GLOB_RECURSE pc "${PREFIX}/*/respool.pc")
if(NOT config OR NOT version OR NOT pc)
  message(FATAL_ERROR "respoolConfig.cmake, respoolConfigVersion.cmake or respool.pc not installed under ${PREFIX}")
endif()
# Nothing but headers, the package files, the pkg-config file and documentation: respool builds no library.
file(GLOB_RECURSE installed RELATIVE "${PREFIX}" "${PREFIX}/*")
foreach(file IN LISTS installed)
  if(NOT file MATCHES "^include/respool/.*\\.hpp$" AND NOT file MATCHES "/cmake/respool/[^/]+\\.cmake$"
     AND NOT file MATCHES "/pkgconfig/respool[^/]*\\.pc$" AND NOT file MATCHES "^share/doc/respool/")
    message(FATAL_ERROR "unexpected installed file: ${file}")
  endif()
endforeach()
message(STATUS "respool installed into ${PREFIX}")
