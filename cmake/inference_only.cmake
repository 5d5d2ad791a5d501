# CAJAL_INFERENCE_ONLY: the static library `cajal_infer` (what loading a model file and
# running it takes: tensors, ops and kernels, layers and presets, int8 models, safetensors,
# images, model files' metadata) and the `cajal-infer` program. Sections are split so the
# linker keeps only what the program reaches, and the program is stripped. Without oneDNN
# (which Debian ships as a shared library only) it links statically: one file to copy.
set(CAJAL_INFER_SOURCES)
foreach(dir core autograd ops kernels nn models)
  file(GLOB_RECURSE found CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/cajal/${dir}/*.cpp)
  list(APPEND CAJAL_INFER_SOURCES ${found})
endforeach()
foreach(file compress/quantize compress/quantized_model compress/channel_pruning
             io/safetensors io/npy io/atomic_file io/input_file io/json data/image data/jpeg
             cli/model_file cli/model_config cli/safe_yaml)
  list(APPEND CAJAL_INFER_SOURCES ${PROJECT_SOURCE_DIR}/src/cajal/${file}.cpp)
endforeach()

# -O2: a quarter smaller than -O3 (less unrolling and fewer loop versions in the kernels'
# many instantiations), which counts more here than the last percent of speed.
set(CMAKE_CXX_FLAGS_RELEASE "-O2")
add_compile_options(-ffunction-sections -fdata-sections)
# What runs once per program (loading, building the model, metadata, errors) is compiled for
# size; the kernels and ops, which run per element, for speed.
foreach(source ${CAJAL_INFER_SOURCES})
  if(NOT source MATCHES "/src/cajal/(kernels|ops)/")
    set_source_files_properties(${source} PROPERTIES COMPILE_OPTIONS "-Os")
  endif()
endforeach()
add_library(cajal_infer STATIC ${CAJAL_INFER_SOURCES})
target_include_directories(cajal_infer PUBLIC ${PROJECT_SOURCE_DIR}/src)
target_compile_definitions(cajal_infer PUBLIC CAJAL_INFERENCE_ONLY)
# -fopenmp rather than the imported target: that names libgomp.so, which a static link refuses.
separate_arguments(CAJAL_OPENMP_FLAGS UNIX_COMMAND "${OpenMP_CXX_FLAGS}")
target_compile_options(cajal_infer PUBLIC ${CAJAL_OPENMP_FLAGS})
target_link_options(cajal_infer PUBLIC ${CAJAL_OPENMP_FLAGS})
find_package(ZLIB REQUIRED)
find_package(JPEG REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(yaml-cpp REQUIRED)
target_link_libraries(cajal_infer PRIVATE nlohmann_json::nlohmann_json)
target_include_directories(cajal_infer PRIVATE ${YAML_CPP_INCLUDE_DIR})
if(CAJAL_WITH_OPENBLAS)
  target_compile_definitions(cajal_infer PRIVATE CAJAL_WITH_OPENBLAS)
  target_include_directories(cajal_infer PRIVATE ${CBLAS_INCLUDE_DIR})
endif()
if(CAJAL_WITH_ONEDNN)
  target_compile_definitions(cajal_infer PRIVATE CAJAL_WITH_ONEDNN)
  target_include_directories(cajal_infer PRIVATE ${DNNL_INCLUDE_DIR})
endif()

add_executable(cajal_infer_program src/cajal/infer/main.cpp)
set_target_properties(cajal_infer_program PROPERTIES OUTPUT_NAME cajal-infer)
target_link_options(cajal_infer_program PRIVATE -Wl,--gc-sections -s)
# The static archives of the libraries, so that the program stands alone.
find_library(YAML_CPP_STATIC libyaml-cpp.a REQUIRED)
find_library(JPEG_STATIC libjpeg.a REQUIRED)
find_library(Z_STATIC libz.a REQUIRED)
set(CAJAL_INFER_LIBS cajal_infer ${YAML_CPP_STATIC} ${JPEG_STATIC} ${Z_STATIC})
if(CAJAL_WITH_OPENBLAS)
  list(APPEND CAJAL_INFER_LIBS ${OPENBLAS_LIBRARY})
endif()
if(CAJAL_WITH_ONEDNN)
  list(APPEND CAJAL_INFER_LIBS ${DNNL_LIBRARY})
  target_link_options(cajal_infer_program PRIVATE -static-libstdc++ -static-libgcc)
else()
  target_link_options(cajal_infer_program PRIVATE -static)
endif()
target_link_libraries(cajal_infer_program PRIVATE ${CAJAL_INFER_LIBS})
