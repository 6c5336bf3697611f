# A project without CMake: compiler flags from `pkg-config --cflags --libs respool`, read from the installed prefix.
#   cmake -DPKG_CONFIG=.. -DPREFIX=.. -DCOMPILER=.. -DSOURCE=.. -DOUTPUT=.. -DEXPECT=regex -P pkg_config.cmake
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

file(GLOB_RECURSE pc "${PREFIX}/*/respool.pc")
if(NOT pc)
  message(FATAL_ERROR "no respool.pc under ${PREFIX}")
endif()
list(GET pc 0 pc)
get_filename_component(pc_dir "${pc}" DIRECTORY)
set(ENV{PKG_CONFIG_PATH} "${pc_dir}")

execute_process(COMMAND ${PKG_CONFIG} --cflags --libs respool RESULT_VARIABLE rc OUTPUT_VARIABLE flags
                ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config --cflags --libs respool failed:\n${err}")
endif()
message(STATUS "pkg-config --cflags --libs respool: ${flags}")
separate_arguments(flags UNIX_COMMAND "${flags}")
# The include directory must be the one just installed, wherever the package was configured to go.
get_filename_component(prefix_real "${PREFIX}" REALPATH)
set(found_installed OFF)
foreach(flag IN LISTS flags)
  if(flag MATCHES "^-I(.+)$")
    get_filename_component(include_dir "${CMAKE_MATCH_1}" REALPATH)
    if(include_dir STREQUAL "${prefix_real}/include" AND EXISTS "${include_dir}/respool/respool.hpp")
      set(found_installed ON)
    endif()
  endif()
endforeach()
if(NOT found_installed)
  message(FATAL_ERROR "respool.pc does not point at ${PREFIX}/include")
endif()
get_filename_component(dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
# The .pc file leaves the language level to the project (a C++23 project keeps C++23); below C++20 the umbrella
# header says what is needed.
execute_process(COMMAND ${COMPILER} -std=c++17 -fsyntax-only ${SOURCE} ${flags} RESULT_VARIABLE rc
                OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR NOT err MATCHES "respool needs C\\+\\+20")
  message(FATAL_ERROR "compiling as C++17 did not stop with respool's C++20 message:\n${out}${err}")
endif()
respool_run("compiling with pkg-config flags" ${COMPILER} -std=c++20 ${SOURCE} ${flags} -o ${OUTPUT})
respool_run_and_expect(${OUTPUT} "${EXPECT}")
