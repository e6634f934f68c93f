import CHDF5

extension HDF5File {
    /// Refuses what would make reading this file touch anything outside it, or decode data
    /// through code HDF5Kit does not vouch for. Run by ``open(_:)`` before anything else reads the
    /// file, so no data is read from a refused file.
    ///
    /// Refused: external links and user-defined links anywhere (`hdf5.unsafe_link`; soft links
    /// stay, since with no external link they can only name objects of this file), datasets in
    /// external raw storage (`hdf5.external_storage`), virtual datasets (`hdf5.virtual_dataset`)
    /// and datasets stored through any filter but deflate, shuffle and fletcher32
    /// (`hdf5.unsupported_filter`: szip, n-bit, scale-offset and third-party plugins such as LZF
    /// or Blosc are not read; plugin loading is not relied on).
    func refuseUnsafeStructure() throws {
        let id = try requireOpen()
        // Links first: nothing below follows one (the visits report links, they do not traverse them).
        let links = VisitedLinks()
        let status = l2h_visit_links(id, { name, kind, context in
            guard let name, let context else { return -1 }
            let found = Unmanaged<VisitedLinks>.fromOpaque(context).takeUnretainedValue()
            if kind == Int32(L2H_LINK_EXTERNAL) || kind == Int32(L2H_LINK_OTHER) {
                found.unsafe = ("/" + String(cString: name), kind == Int32(L2H_LINK_EXTERNAL) ? "an external link" : "a user-defined link")
                return 1
            }
            return 0
        }, Unmanaged.passUnretained(links).toOpaque())
        if let (link, kind) = links.unsafe { throw HDF5Error.unsafeLink(path: path, link: link, kind: kind) }
        guard status >= 0 else { throw corruption("listing links") }

        let objects = VisitedObjects()
        let visited = l2h_visit(id, { name, kind, context in
            guard let name, let context else { return -1 }
            if kind == Int32(L2H_OBJ_DATASET) {
                Unmanaged<VisitedObjects>.fromOpaque(context).takeUnretainedValue().entries.append((String(cString: name), kind))
            }
            return 0
        }, Unmanaged.passUnretained(objects).toOpaque())
        guard visited >= 0 else { throw corruption("listing objects") }
        for (relative, _) in objects.entries {
            try checkStorage("/" + relative)
        }
    }

    /// Layout, external storage and filters of one dataset, from its creation property list.
    private func checkStorage(_ name: String) throws {
        let dataset = H5Dopen2(fileID, name, l2h_p_default())
        guard dataset >= 0 else { throw corruption("opening dataset \(name)") }
        defer { H5Dclose(dataset) }
        let dcpl = H5Dget_create_plist(dataset)
        guard dcpl >= 0 else { throw corruption("reading the storage of \(name)") }
        defer { H5Pclose(dcpl) }
        if Int32(H5Pget_layout(dcpl).rawValue) == l2h_layout_virtual() {
            throw HDF5Error.virtualDataset(path: path, object: name)
        }
        let external = H5Pget_external_count(dcpl)
        guard external >= 0 else { throw corruption("reading the storage of \(name)") }
        if external > 0 { throw HDF5Error.externalStorage(path: path, object: name, fileCount: Int(external)) }
        let count = H5Pget_nfilters(dcpl)
        guard count >= 0 else { throw corruption("reading the filters of \(name)") }
        let allowed: Set<Int32> = [l2h_filter_deflate(), l2h_filter_shuffle(), l2h_filter_fletcher32()]
        for index in 0..<UInt32(count) {
            var flags: UInt32 = 0
            var elements = 0
            var values = [UInt32](repeating: 0, count: 8)
            var label = [CChar](repeating: 0, count: 64)
            var config: UInt32 = 0
            let filter = H5Pget_filter2(dcpl, index, &flags, &elements, &values, label.count, &label, &config)
            guard filter >= 0 else { throw corruption("reading the filters of \(name)") }
            if !allowed.contains(Int32(filter)) {
                let text = String(decoding: label.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                throw HDF5Error.unsupportedFilter(path: path, object: name, filter: "\(filter)\(text.isEmpty ? "" : " (\(text))")")
            }
        }
    }
}

/// Collects what `l2h_visit_links` reports: the first unsafe link.
private final class VisitedLinks {
    var unsafe: (String, String)?
}
