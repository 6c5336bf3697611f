# Compiles SOURCES with COMPILER and FLAGS straight from the command line (no CMake project in between, as a user
# without CMake would), then runs the program and checks its output against EXPECT.
#   cmake -DCOMPILER=g++ -DFLAGS=a|b -DSOURCES=x.cpp|y.cpp -DOUTPUT=prog [-DEXPECT=regex] -P compile_and_run.cmake
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

respool_split(flags "${FLAGS}")
respool_split(sources "${SOURCES}")
get_filename_component(dir "${OUTPUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
respool_run("compiling with ${COMPILER}" ${COMPILER} ${flags} ${sources} -o ${OUTPUT} -pthread)
if(DEFINED EXPECT)
  respool_run_and_expect(${OUTPUT} "${EXPECT}")
endif()
