# Installation layout and the Debian package (cpack -G DEB in the build
# directory gives lthub_<version>_amd64.deb). Programs in /usr/bin, systemd
# units and the sysusers file under /usr/lib, the example configuration and
# every file of deploy/etc/ under /etc/lthub/ as conffiles (an upgrade never
# overwrites them), documentation in /usr/share/doc/lthub. The maintainer
# scripts in deploy/debian/ create the lthub user and its directories.

install(TARGETS lthubd lthub RUNTIME DESTINATION bin)

# Units: the ones in deploy/systemd name /usr/local/bin (a hand install,
# docs/operations.md); the package's name /usr/bin.
set(LT_PKG_DIR ${CMAKE_BINARY_DIR}/package)
foreach(unit lthubd.service lthub-connector@.service)
  file(READ ${CMAKE_SOURCE_DIR}/deploy/systemd/${unit} text)
  string(REPLACE "/usr/local/bin/" "/usr/bin/" text "${text}")
  string(REPLACE "/usr/local/share/doc/" "/usr/share/doc/" text "${text}")
  file(WRITE ${LT_PKG_DIR}/${unit} "${text}")
  install(FILES ${LT_PKG_DIR}/${unit} DESTINATION lib/systemd/system)
endforeach()
install(FILES ${CMAKE_SOURCE_DIR}/deploy/systemd/lthub.sysusers.conf
        DESTINATION lib/sysusers.d RENAME lthub.conf)

# Configuration (conffiles).
set(LT_CONFFILES /etc/lthub/lthub.cfg)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/lthub.cfg.example DESTINATION /etc/lthub
        RENAME lthub.cfg)
file(GLOB LT_ETC_FILES ${CMAKE_SOURCE_DIR}/deploy/etc/*)
foreach(f ${LT_ETC_FILES})
  get_filename_component(name ${f} NAME)
  install(FILES ${f} DESTINATION /etc/lthub)
  list(APPEND LT_CONFFILES /etc/lthub/${name})
endforeach()
# The indicator definitions and the sandbox province's agency directory, as
# starting points a province edits (ledger/indicators, ledger/agencies).
install(FILES ${CMAKE_SOURCE_DIR}/schemas/indicators/default.ind DESTINATION /etc/lthub
        RENAME indicators.ind)
install(FILES ${CMAKE_SOURCE_DIR}/deploy/agencies-h26.txt DESTINATION /etc/lthub
        RENAME agencies.txt)
list(APPEND LT_CONFFILES /etc/lthub/indicators.ind /etc/lthub/agencies.txt)
list(JOIN LT_CONFFILES "\n" LT_CONFFILES_TEXT)
file(WRITE ${LT_PKG_DIR}/conffiles "${LT_CONFFILES_TEXT}\n")

install(FILES ${CMAKE_SOURCE_DIR}/README.md ${CMAKE_SOURCE_DIR}/docs/operations.md
        ${CMAKE_SOURCE_DIR}/docs/configuration.md ${CMAKE_SOURCE_DIR}/docs/architecture.md
        DESTINATION share/doc/lthub)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME lthub)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "lthub maintainers <lthub@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "durable message-bus integration hub for provincial e-government")
set(CPACK_PACKAGE_DESCRIPTION
    "lthubd stores every message durably and relays it between the province's document management systems, the one-stop system, the national document axis and the reporting system; lthub is the operator's command line.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd, adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/deploy/debian/postinst ${CMAKE_SOURCE_DIR}/deploy/debian/prerm
    ${CMAKE_SOURCE_DIR}/deploy/debian/postrm ${LT_PKG_DIR}/conffiles)
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
# Only the package's files, not the test programs' install rules.
set(CPACK_STRIP_FILES TRUE)
include(CPack)
