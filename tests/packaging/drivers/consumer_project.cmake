# Configures, builds and runs one consumer project in a fresh build directory, with the compiler and generator of
# respool's own build. The consumer builds `respool_consumer` (checked against EXPECT) and, when MARIADB_EXPECT is
# given, `respool_mariadb_consumer` (checked against MARIADB_EXPECT).
# ARCHIVE_FROM=<respool source>: first packs that source tree into BINARY_DIR/respool-src.tar.gz, as a release
# archive would be, and hands its path to the consumer as RESPOOL_ARCHIVE (for FetchContent's URL).
#   cmake -DSOURCE_DIR=.. -DBINARY_DIR=.. -DGENERATOR=.. -DCXX=.. -DARGS=-Da=b|-Dc=d -DEXPECT=regex
#         [-DMARIADB_EXPECT=regex] [-DARCHIVE_FROM=..] -P consumer_project.cmake
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

respool_split(args "${ARGS}")
file(REMOVE_RECURSE "${BINARY_DIR}")
file(MAKE_DIRECTORY "${BINARY_DIR}")

if(ARCHIVE_FROM)
  # What a release archive holds: the top-level files and the directories a consumer build reads; not the tests.
  file(GLOB top_files LIST_DIRECTORIES false RELATIVE "${ARCHIVE_FROM}" "${ARCHIVE_FROM}/*")
  set(entries ${top_files})
  foreach(dir cmake include single_include)
    if(EXISTS "${ARCHIVE_FROM}/${dir}")
      list(APPEND entries ${dir})
    endif()
  endforeach()
  set(archive "${BINARY_DIR}/respool-src.tar.gz")
  respool_run("packing respool" ${CMAKE_COMMAND} -E chdir ${ARCHIVE_FROM} ${CMAKE_COMMAND} -E tar czf ${archive}
              ${entries})
  list(APPEND args -DRESPOOL_ARCHIVE=${archive})
endif()

set(build "${BINARY_DIR}/build")
respool_run("configuring the consumer" ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${build} -G ${GENERATOR}
            -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release ${args})
respool_run("building the consumer" ${CMAKE_COMMAND} --build ${build} --config Release)

function(run_consumer name expect)
  foreach(candidate "${build}/${name}" "${build}/Release/${name}")
    if(EXISTS "${candidate}")
      respool_run_and_expect("${candidate}" "${expect}")
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "the consumer build made no ${name}")
endfunction()

run_consumer(respool_consumer "${EXPECT}")
if(DEFINED MARIADB_EXPECT)
  run_consumer(respool_mariadb_consumer "${MARIADB_EXPECT}")
endif()
